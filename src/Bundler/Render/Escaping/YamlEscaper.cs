using System.Text.RegularExpressions;

namespace Bundler.Render.Escaping;

/// <summary>
/// YAML files (component configs, kubeconfigs, manifests). Where a value stands decides its escaping:
/// <list type="bullet">
/// <item>a comment: carried as is;</item>
/// <item>inside a double-quoted scalar: <c>\ "</c> and control characters backslash-escaped;</item>
/// <item>inside a single-quoted scalar: <c>'</c> → <c>''</c> (no escapes exist there, so a control character is refused);</item>
/// <item>a whole plain scalar (<c>key: {{ v }}</c>, <c>- {{ v }}</c>): left plain when it reads back as the same string,
/// else double-quoted; quoting is needed for indicators, <c>": "</c>, <c>" #"</c>, spaces, and words another schema reads as
/// null, a boolean, a number or a date (YAML 1.1: <c>yes</c>, <c>on</c>, <c>0755</c>, <c>12:30</c>) — an integer or boolean
/// of the model is placed as that literal;</item>
/// <item>part of a larger plain scalar (<c>{{ a }}@{{ b }}</c>): YAML cannot quote part of a scalar, so the value may
/// hold only letters, digits and <c>. _ / @ + = ~ - :</c> (a colon not before a space); anything else is refused and the
/// template must quote the whole scalar.</item>
/// </list>
/// A block scalar (<c>|</c>, <c>&gt;</c>) carries a value as is, without line breaks.
/// </summary>
public sealed partial class YamlEscaper : ValueEscaper
{
    public override string Format => "a YAML file";

    private enum State { Plain, Comment, Double, Single }

    protected override string Escape(string value, bool literal, string before, string after)
    {
        var line = CurrentLine(before);
        if (InBlockScalar(before, line))
        {
            RefuseControls(value, "a block scalar");
            if (line.Trim().Length == 0 && value.StartsWith(' '))
                throw new ValueRefusedException($"starts a line of a block scalar with a space, which changes its indentation in {Format}");
            return value;
        }
        var (state, scalarStart, flow) = Scan(line);
        switch (state)
        {
            case State.Comment:
                RefuseControls(value, "a comment");
                return value;
            case State.Double:
                return DoubleQuotedBody(value);
            case State.Single:
                RefuseControls(value, "a single-quoted scalar");
                return value.Replace("'", "''", StringComparison.Ordinal);
        }
        var startsScalar = scalarStart == line.Length;
        if (startsScalar && EndsScalar(after, flow))
            return literal ? value : NeedsQuotes(value) ? "\"" + DoubleQuotedBody(value) + "\"" : value;
        RefuseControls(value, "a plain scalar");
        if (!FragmentSafe(value, line[scalarStart..], next: after.Length > 0 ? after[0] : '\n'))
            throw new ValueRefusedException(
                $"stands inside a larger plain scalar of {Format}, which cannot quote part of a scalar; there a value may hold only letters, " +
                "digits and . _ / @ + = ~ - : (a colon not before a space, no indicator first); quote the whole scalar in the template (\"...\")");
        return value;
    }

    /// <summary>
    /// What the value continues on its line: a comment, a quoted scalar, or a plain scalar that starts at the returned
    /// index (after indentation, "- ", "? ", "key: ", or in a flow collection "[", "{", ",").
    /// </summary>
    private static (State State, int ScalarStart, bool Flow) Scan(string line)
    {
        var state = State.Plain;
        var start = 0;
        var nodeStart = true;
        var flowDepth = 0;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (state == State.Double)
            {
                if (c == '\\')
                    i++;
                else if (c == '"')
                    state = State.Plain;
                continue;
            }
            if (state == State.Single)
            {
                if (c == '\'' && i + 1 < line.Length && line[i + 1] == '\'')
                    i++;
                else if (c == '\'')
                    state = State.Plain;
                continue;
            }
            var next = i + 1 < line.Length ? line[i + 1] : '\0';
            if (c is ' ' or '\t')
            {
                if (nodeStart)
                    start = i + 1;
            }
            else if (c == '#' && (i == 0 || line[i - 1] is ' ' or '\t'))
                return (State.Comment, 0, false);
            else if (nodeStart && c is '"' or '\'')
            {
                state = c == '"' ? State.Double : State.Single;
                nodeStart = false;
            }
            else if ((nodeStart && c is '-' or '?' || c == ':') && next is ' ' or '\t')
            {
                // "- " (sequence entry), "? " (complex key), ": " (mapping value): a new node starts after it.
                start = i + 1;
                nodeStart = true;
            }
            else if ((nodeStart && c is '[' or '{') || (flowDepth > 0 && c == ','))
            {
                flowDepth += c == ',' ? 0 : 1;
                start = i + 1;
                nodeStart = true;
            }
            else
            {
                if (flowDepth > 0 && c is ']' or '}')
                    flowDepth--;
                nodeStart = false;
            }
        }
        return (state, start, flowDepth > 0);
    }

    /// <summary>Whether the template text after the value ends the scalar (end of line, a comment, ": " of a key, a flow separator).</summary>
    private static bool EndsScalar(string after, bool flow)
    {
        var rest = after.TrimStart(' ', '\t');
        if (rest.Length == 0 || (rest[0] == '#' && rest.Length < after.Length))
            return true;
        if (rest.Length == after.Length && rest[0] == ':' && (rest.Length == 1 || rest[1] is ' ' or '\t'))
            return true;
        return flow && rest[0] is ',' or ']' or '}';
    }

    /// <summary>
    /// Inside a literal or folded block scalar: an earlier, less indented line ends in "|" or "&gt;" (with optional
    /// chomping and indentation indicators) and every line between is more indented or empty.
    /// </summary>
    private static bool InBlockScalar(string before, string line)
    {
        var lines = before.Split('\n');
        var indent = line.Length - line.TrimStart(' ').Length;
        for (var k = lines.Length - 2; k >= 0; k--)
        {
            var text = lines[k];
            if (text.Trim().Length == 0 || text.TrimStart().StartsWith('#'))
                continue;
            var textIndent = text.Length - text.TrimStart(' ').Length;
            if (textIndent >= indent)
                continue;
            return BlockHeader().IsMatch(text);
        }
        return false;
    }

    /// <summary>Whether a whole plain scalar would not read back as this string.</summary>
    private static bool NeedsQuotes(string value) =>
        !PlainWord().IsMatch(value) || value.EndsWith(':') || ImplicitlyTyped().IsMatch(value);

    /// <summary>
    /// Whether a value can stand between <paramref name="prefix"/> (the scalar so far) and <paramref name="next"/>
    /// (the template's next character) without quotes: plain-safe characters only, no indicator where the scalar
    /// starts, and no ':' left before a space or the end of the line (that would make the scalar a key).
    /// </summary>
    private static bool FragmentSafe(string value, string prefix, char next)
    {
        if (!FragmentWord().IsMatch(value))
            return false;
        if (prefix.Length == 0 && !PlainWord().IsMatch((value.Length > 0 ? value[0] : next).ToString()))
            return false;
        var last = value.Length > 0 ? value[^1] : prefix.Length > 0 ? prefix[^1] : '\0';
        return last != ':' || next is not (' ' or '\t' or '\n');
    }

    private static string DoubleQuotedBody(string value) => BackslashEscape(value, c => c switch
    {
        '\\' => "\\\\",
        '"' => "\\\"",
        '\n' => "\\n",
        '\t' => "\\t",
        '\r' => "\\r",
        _ => null,
    });

    /// <summary>A plain scalar that needs no quotes: starts with a letter, digit, _ . or /, no spaces or indicators.</summary>
    [GeneratedRegex("^[A-Za-z0-9_./][A-Za-z0-9_./@+=~:-]*$")]
    private static partial Regex PlainWord();

    [GeneratedRegex("^[A-Za-z0-9_./@+=~:-]*$")]
    private static partial Regex FragmentWord();

    /// <summary>
    /// Plain words that YAML 1.1 or 1.2 (core schema) resolve to null, a boolean, a number, a date, a merge key or a
    /// value key — Kubernetes reads YAML 1.1 (go-yaml), so "on" and "0755" are not strings there.
    /// </summary>
    [GeneratedRegex(
        @"^(?:~|null|Null|NULL|y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF" +
        @"|[-+]?(?:0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(?::[0-5]?[0-9])*)" +
        @"|[-+]?(?:\.[0-9_]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?" +
        @"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*" +
        @"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)" +
        @"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt].*)?" +
        @"|<<|=)$")]
    private static partial Regex ImplicitlyTyped();

    [GeneratedRegex(@"(?:^|[\s:-])[|>][-+0-9]*\s*(?:#.*)?$")]
    private static partial Regex BlockHeader();
}
