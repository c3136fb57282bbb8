using System.Text.RegularExpressions;

namespace Bundler.Render.Escaping;

/// <summary>
/// Shell scripts (POSIX sh and bash). Where a value stands decides its escaping:
/// <list type="bullet">
/// <item>outside quotes: single-quoted (<c>'</c> → <c>'\''</c>), which also works inside a word (<c>--name={{ v }}</c>);</item>
/// <item>inside single quotes: <c>'</c> → <c>'\''</c>;</item>
/// <item>inside double quotes and in an unquoted here-document: <c>\ $ `</c> (and <c>"</c> in quotes) backslash-escaped;</item>
/// <item>a comment and a quoted here-document: carried as is.</item>
/// </list>
/// Control characters are refused everywhere (a line break would end a comment or a here-document line).
/// An integer or boolean of the model is placed as is.
/// </summary>
public sealed partial class ShellEscaper : ValueEscaper
{
    public override string Format => "a shell script";

    private enum State { Word, Comment, Single, Double, HereDoc, QuotedHereDoc }

    protected override string Escape(string value, bool literal, string before, string after)
    {
        var (state, delimiter) = Scan(before);
        RefuseControls(value, state == State.Comment ? "a comment" : "a value");
        if (state is State.HereDoc or State.QuotedHereDoc && CurrentLine(before).Length == 0 && after.Length == 0 &&
            value.TrimStart('\t') == delimiter)
            throw new ValueRefusedException($"is the line that ends the here-document ({delimiter}) in {Format}");
        return state switch
        {
            State.Comment or State.QuotedHereDoc => value,
            State.Single => value.Replace("'", "'\\''", StringComparison.Ordinal),
            State.Double => Backslashed(value, "\\$`\""),
            State.HereDoc => Backslashed(value, "\\$`"),
            _ => literal ? value : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'",
        };
    }

    private static string Backslashed(string value, string special) =>
        string.Concat(value.Select(c => special.Contains(c, StringComparison.Ordinal) ? "\\" + c : c.ToString()));

    /// <summary>The lexical state at the end of <paramref name="text"/>, and the delimiter of the here-document it is in.</summary>
    private static (State State, string Delimiter) Scan(string text)
    {
        var state = State.Word;
        var wordStart = true;
        var pending = new Queue<(string Delimiter, bool Quoted, bool StripTabs)>();
        (string Delimiter, bool Quoted, bool StripTabs) heredoc = ("", false, false);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (state)
            {
                case State.Comment:
                    if (c == '\n')
                        (state, wordStart) = (State.Word, true);
                    break;
                case State.Single:
                    if (c == '\'')
                        state = State.Word;
                    break;
                case State.Double:
                    if (c == '\\')
                        i++;
                    else if (c == '"')
                        state = State.Word;
                    break;
                case State.HereDoc or State.QuotedHereDoc:
                    // A here-document body ends at a line that is exactly its delimiter (after leading tabs with <<-).
                    var end = text.IndexOf('\n', i);
                    if (end < 0)
                        return (state, heredoc.Delimiter);
                    var bodyLine = text[i..end];
                    if ((heredoc.StripTabs ? bodyLine.TrimStart('\t') : bodyLine) == heredoc.Delimiter)
                        state = pending.Count > 0 ? Enter(pending.Dequeue(), out heredoc) : State.Word;
                    i = end;
                    break;
                default:
                    if (c == '\\')
                    {
                        i++;
                        wordStart = false;
                    }
                    else if (c == '\n' && pending.Count > 0)
                        state = Enter(pending.Dequeue(), out heredoc);
                    else if (c is ' ' or '\t' or '\n' or ';' or '&' or '|' or '(' or ')')
                        wordStart = true;
                    else if (c == '#' && wordStart)
                        state = State.Comment;
                    else if (c == '\'')
                        state = State.Single;
                    else if (c == '"')
                        state = State.Double;
                    else if (c == '<' && (i == 0 || text[i - 1] != '<') && HereDocument().Match(text, i) is { Success: true } m)
                    {
                        var word = m.Groups["word"].Value;
                        var quoted = word.IndexOfAny(['\'', '"', '\\']) >= 0;
                        pending.Enqueue((word.Replace("'", "", StringComparison.Ordinal).Replace("\"", "", StringComparison.Ordinal)
                            .Replace("\\", "", StringComparison.Ordinal), quoted, m.Groups["dash"].Success));
                        i += m.Length - 1;
                        wordStart = true;
                    }
                    else
                        wordStart = false;
                    break;
            }
        }
        return (state, heredoc.Delimiter);
    }

    private static State Enter((string Delimiter, bool Quoted, bool StripTabs) next, out (string, bool, bool) heredoc)
    {
        heredoc = next;
        return next.Quoted ? State.QuotedHereDoc : State.HereDoc;
    }

    [GeneratedRegex(@"\G<<(?!<)(?<dash>-)?[ \t]*(?<word>'[^']*'|""[^""]*""|\\?[A-Za-z0-9_]+)")]
    private static partial Regex HereDocument();
}
