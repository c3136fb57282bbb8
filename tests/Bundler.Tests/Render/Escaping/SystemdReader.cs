using System.Globalization;
using System.Text;

namespace Bundler.Tests.Render.Escaping;

/// <summary>
/// Reads a unit file as systemd documents it (systemd.syntax(5), systemd.service(5) "Command lines",
/// systemd.unit(5) "Specifiers"), written from the manual independently of SystemdEscaper: the test's oracle for
/// what a rendered unit means. Anything the manual leaves undefined (a quote inside a word, an unknown escape or
/// specifier) fails the test; a variable systemd would expand shows as <see cref="Variable"/>.
/// </summary>
internal static class SystemdReader
{
    public sealed record Setting(string? Section, string Key, string Value);

    /// <summary>Stands in an argument where systemd would expand a variable ($NAME, ${NAME}).</summary>
    public const char Variable = '\u0001';

    /// <summary>The settings in file order: comment lines dropped, continuation lines joined with a space.</summary>
    public static List<Setting> Settings(string unit)
    {
        var settings = new List<Setting>();
        string? section = null;
        string? pending = null;
        foreach (var physical in unit.Split('\n'))
        {
            if (physical.TrimStart().StartsWith('#') || physical.TrimStart().StartsWith(';'))
                continue;
            var line = pending + physical;
            pending = null;
            var backslashes = line.Length - line.TrimEnd('\\').Length;
            if (backslashes % 2 == 1)
            {
                pending = line[..^1] + " ";
                continue;
            }
            var text = line.Trim();
            if (text.Length == 0)
                continue;
            if (text.StartsWith('['))
            {
                Assert.EndsWith("]", text);
                section = text[1..^1];
                continue;
            }
            var equals = text.IndexOf('=', StringComparison.Ordinal);
            Assert.True(equals > 0, $"missing '=': {text}");
            settings.Add(new Setting(section, text[..equals].Trim(), text[(equals + 1)..].Trim()));
        }
        Assert.Null(pending);
        return settings;
    }

    /// <summary>
    /// A command line setting: its commands (split at a lone ';'), each as the argv systemd passes. Each command must
    /// be an absolute path after exactly the <paramref name="prefix"/> the template wrote (- @ : + !).
    /// </summary>
    public static List<List<string>> Commands(string value, string prefix = "")
    {
        var commands = new List<List<string>> { new() };
        foreach (var (raw, word) in Words(value))
        {
            if (raw == ";")
            {
                commands.Add([]);
                continue;
            }
            var argument = raw == "\\;" ? ";" : Variables(Specifiers(word));
            if (commands[^1].Count == 0)
            {
                Assert.True(argument.StartsWith(prefix + "/", StringComparison.Ordinal),
                    $"the command {argument} is not an absolute path after '{prefix}' (a prefix - @ : + ! changes how it runs)");
                argument = argument[prefix.Length..];
            }
            commands[^1].Add(argument);
        }
        return commands;
    }

    /// <summary>Environment=: the assignments, in order.</summary>
    public static List<(string Name, string Value)> Assignments(string value) =>
        Words(value).Select(w => Specifiers(w.Word)).Select(a =>
        {
            var equals = a.IndexOf('=', StringComparison.Ordinal);
            Assert.True(equals > 0, $"not an assignment: {a}");
            return (a[..equals], a[(equals + 1)..]);
        }).ToList();

    /// <summary>Words split at unquoted whitespace; quotes wrap a whole word; C escapes decoded.</summary>
    private static List<(string Raw, string Word)> Words(string text)
    {
        var words = new List<(string, string)>();
        var i = 0;
        while (true)
        {
            while (i < text.Length && text[i] is ' ' or '\t')
                i++;
            if (i == text.Length)
                return words;
            // "\;" alone is a literal ';' argument, a lone ';' separates commands (systemd.service(5)).
            if (text.AsSpan(i).StartsWith("\\;") && (i + 2 == text.Length || text[i + 2] is ' ' or '\t'))
            {
                words.Add(("\\;", ";"));
                i += 2;
                continue;
            }
            var start = i;
            var word = new StringBuilder();
            var quote = text[i] is '"' or '\'' ? text[i++] : '\0';
            while (true)
            {
                if (i == text.Length)
                {
                    Assert.True(quote == '\0', $"unterminated quote in {text}");
                    break;
                }
                var c = text[i];
                if (quote == '\0' && c is ' ' or '\t')
                    break;
                if (quote != '\0' && c == quote)
                {
                    i++;
                    Assert.True(i == text.Length || text[i] is ' ' or '\t', $"a closing quote must end the word: {text}");
                    break;
                }
                Assert.True(quote != '\0' || c is not ('"' or '\''), $"a quote inside a word is undefined: {text}");
                if (c == '\\')
                {
                    i = Unescape(text, i, word);
                    continue;
                }
                word.Append(c);
                i++;
            }
            words.Add((text[start..i], word.ToString()));
        }
    }

    private static int Unescape(string text, int at, StringBuilder word)
    {
        Assert.True(at + 1 < text.Length, $"a backslash ends {text}");
        var c = text[at + 1];
        var simple = c switch
        {
            'a' => "\a", 'b' => "\b", 'f' => "\f", 'n' => "\n", 'r' => "\r", 't' => "\t", 'v' => "\v",
            '\\' => "\\", '"' => "\"", '\'' => "'", 's' => " ",
            _ => null,
        };
        if (simple is not null)
        {
            word.Append(simple);
            return at + 2;
        }
        if (c == 'x')
        {
            word.Append((char)int.Parse(text.AsSpan(at + 2, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            return at + 4;
        }
        Assert.Fail($"unknown escape \\{c} in {text}");
        return 0;
    }

    private static string Specifiers(string word)
    {
        var text = new StringBuilder();
        for (var i = 0; i < word.Length; i++)
        {
            if (word[i] != '%')
            {
                text.Append(word[i]);
                continue;
            }
            Assert.True(i + 1 < word.Length && word[i + 1] == '%', $"a specifier %{(i + 1 < word.Length ? word[i + 1] : ' ')} would be resolved in {word}");
            text.Append('%');
            i++;
        }
        return text.ToString();
    }

    private static string Variables(string word)
    {
        var text = new StringBuilder();
        for (var i = 0; i < word.Length; i++)
        {
            if (word[i] != '$')
            {
                text.Append(word[i]);
                continue;
            }
            if (i + 1 < word.Length && word[i + 1] == '$')
            {
                text.Append('$');
                i++;
            }
            else
                text.Append(Variable);
        }
        return text.ToString();
    }
}
