using System.Text;
using System.Text.RegularExpressions;

namespace Bundler.Render.Escaping;

/// <summary>
/// Unit files (systemd.syntax(5), systemd.service(5)). Where a value stands decides its escaping:
/// <list type="bullet">
/// <item>a comment line: carried as is (current systemd skips comment lines before it joins continuation lines);</item>
/// <item>a command line (ExecStart= and the other Exec*= settings): one argument, whatever it holds: <c>%</c> →
/// <c>%%</c> (specifier), <c>$</c> → <c>$$</c> (variable), <c>\ " '</c> and space C-escaped (<c>\\ \" \' \s</c>),
/// a lone <c>;</c> → <c>\;</c> (command separator); the command itself must not start with a prefix
/// (<c>- @ : + !</c>: ignore failure, argv0, no expansion, full privileges): a value that starts it must be an absolute path;</item>
/// <item>Environment=: one word, escaped as above except <c>$</c> (Environment= does not expand it);</item>
/// <item>any other setting: <c>%</c> → <c>%%</c>; a space, quote or backslash is refused (such settings take the
/// rest of the line as is, so no escape exists for them);</item>
/// <item>a setting or section name: letters, digits, <c>- _ . @</c> only.</item>
/// </list>
/// A line break is refused everywhere: no unit syntax carries one, and it would start a new directive.
/// </summary>
public sealed partial class SystemdEscaper : ValueEscaper
{
    /// <summary>The settings whose value is a command line (systemd.service(5) "Command lines").</summary>
    private static readonly HashSet<string> CommandLines = new(StringComparer.Ordinal)
    {
        "ExecCondition", "ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost",
    };

    /// <summary>Prefixes of the executable (load-fragment.c config_parse_exec), and ';', a command separator.</summary>
    private const string CommandPrefixes = "-@:+!;";

    public override string Format => "a systemd unit";

    protected override string Escape(string value, bool literal, string before, string after)
    {
        RefuseControls(value, "a value");
        var lines = before.Split('\n');
        if (IsComment(lines[^1]))
            return value;
        if (lines[^1].Trim().Length == 0 && value.Length > 0 && value[0] is '#' or ';')
            throw new ValueRefusedException($"starts a line with '{value[0]}', which makes the line a comment in {Format}");
        var logical = LogicalLine(lines);
        if (logical.TrimStart().StartsWith('['))
            return Name(value, "a section name");
        var equals = logical.IndexOf('=', StringComparison.Ordinal);
        if (equals < 0)
            return Name(value, "a setting name");
        var setting = logical[..equals].Trim();
        var valueBefore = logical[(equals + 1)..].TrimStart();
        if (value.Length == 0 && valueBefore.Length == 0 && after.Trim().Length == 0)
            throw new ValueRefusedException($"is empty, and an empty {setting}= resets the setting (a list loses its earlier entries)");
        if (CommandLines.Contains(setting))
            return CommandWord(value, setting, valueBefore, after);
        if (setting == "Environment")
            return EnvironmentWord(value, valueBefore);
        return OneWord(value, setting, valueBefore);
    }

    private string CommandWord(string value, string setting, string valueBefore, string after)
    {
        var (words, partial) = SplitWords(valueBefore);
        var unquoted = partial.Replace("\"", "", StringComparison.Ordinal).Replace("'", "", StringComparison.Ordinal);
        var startsCommand = words.Count == 0 || words[^1] == ";";
        if (startsCommand && value.Length > 0 && unquoted.All(c => CommandPrefixes.Contains(c, StringComparison.Ordinal)) && value[0] != '/')
            throw new ValueRefusedException(
                $"starts the command of {setting}= with '{value[0]}'" +
                (CommandPrefixes.Contains(value[0], StringComparison.Ordinal) ? ", which systemd reads as a prefix (- @ : + ! change how it runs) or a separator (;)" : "") +
                "; the command must be an absolute path");
        var wholeWord = partial.Length == 0 && (after.Length == 0 || after[0] is ' ' or '\t');
        if (wholeWord && value == ";")
            return "\\;";
        // An empty argument would vanish between two spaces; "" keeps it (an empty quoted word).
        if (wholeWord && value.Length == 0)
            return "\"\"";
        return Word(value, dollar: true);
    }

    private string EnvironmentWord(string value, string valueBefore)
    {
        var (_, partial) = SplitWords(valueBefore);
        if (!partial.Contains('=', StringComparison.Ordinal) && !EnvironmentName().IsMatch(value))
            throw new ValueRefusedException($"stands in a variable name of Environment=, which holds only letters, digits and _");
        return Word(value, dollar: false);
    }

    private string OneWord(string value, string setting, string valueBefore)
    {
        foreach (var c in value)
        {
            if (c is ' ' or '"' or '\'' or '\\')
                throw new ValueRefusedException(
                    $"holds {Describe(c)}; {setting}= takes its value as written, so a value there must be one word without spaces, quotes " +
                    "or backslashes (only ExecStart= and the other command lines, and Environment=, can escape them)");
        }
        if (valueBefore.Length == 0 && value.Length > 0 && !char.IsAsciiLetterOrDigit(value[0]) && value[0] != '/')
            throw new ValueRefusedException(
                $"starts the value of {setting}= with '{value[0]}', which some settings read as a prefix (- ! ~ @ +); it must start with a letter, digit or /");
        return value.Replace("%", "%%", StringComparison.Ordinal);
    }

    private string Name(string value, string what)
    {
        if (!SettingName().IsMatch(value))
            throw new ValueRefusedException($"stands in {what} of {Format}, which holds only letters, digits and - _ . @");
        return value;
    }

    /// <summary>One word of a command line or of Environment= (C escapes and specifiers: systemd.service(5) "Command lines").</summary>
    private static string Word(string value, bool dollar)
    {
        var text = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            text.Append(c switch
            {
                '%' => "%%",
                '$' when dollar => "$$",
                '\\' => "\\\\",
                '"' => "\\\"",
                '\'' => "\\'",
                ' ' => "\\s",
                _ => c.ToString(),
            });
        }
        return text.ToString();
    }

    private static bool IsComment(string line)
    {
        var trimmed = line.TrimStart();
        return trimmed.Length > 0 && trimmed[0] is '#' or ';';
    }

    /// <summary>
    /// The logical line the value stands on: physical lines joined where one ends in an unescaped backslash, which
    /// becomes a space; comment lines inside are skipped (src/shared/conf-parser.c config_parse).
    /// </summary>
    private static string LogicalLine(string[] lines)
    {
        var start = lines.Length - 1;
        for (var k = lines.Length - 2; k >= 0; k--)
        {
            if (IsComment(lines[k]))
                continue;
            if (!EndsInBackslash(lines[k]))
                break;
            start = k;
        }
        var logical = new StringBuilder();
        for (var k = start; k < lines.Length - 1; k++)
        {
            if (!IsComment(lines[k]))
                logical.Append(lines[k], 0, lines[k].Length - 1).Append(' ');
        }
        return logical.Append(lines[^1]).ToString();
    }

    private static bool EndsInBackslash(string line)
    {
        var escaped = false;
        foreach (var c in line)
            escaped = !escaped && c == '\\';
        return escaped;
    }

    /// <summary>The finished words of a command line so far and the word the value continues (quotes and escapes kept).</summary>
    private static (List<string> Words, string Partial) SplitWords(string text)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        char quote = '\0';
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\\' && i + 1 < text.Length)
            {
                word.Append(c).Append(text[++i]);
                continue;
            }
            if (quote != '\0')
            {
                if (c == quote)
                    quote = '\0';
                word.Append(c);
            }
            else if (c is ' ' or '\t')
            {
                if (word.Length > 0)
                    words.Add(word.ToString());
                word.Clear();
            }
            else
            {
                if (c is '"' or '\'')
                    quote = c;
                word.Append(c);
            }
        }
        return (words, word.ToString());
    }

    [GeneratedRegex("^[A-Za-z0-9_.@-]*$")]
    private static partial Regex SettingName();

    [GeneratedRegex("^[A-Za-z0-9_]*$")]
    private static partial Regex EnvironmentName();
}
