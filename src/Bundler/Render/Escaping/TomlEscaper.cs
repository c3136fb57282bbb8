using System.Text.RegularExpressions;

namespace Bundler.Render.Escaping;

/// <summary>
/// TOML files (containerd's config.toml, TOML 1.0). Where a value stands decides its escaping:
/// <list type="bullet">
/// <item>a comment: carried as is;</item>
/// <item>a basic string (<c>"..."</c>, <c>"""..."""</c>): the basic-string escapes (<c>\\ \" \n \t \uXXXX</c> ...);</item>
/// <item>a literal string (<c>'...'</c>): no escapes exist there, so a quote or control character is refused;</item>
/// <item>outside strings: an integer or boolean of the model as its literal; a bare key (letters, digits, <c>_ -</c>);
/// a string value is refused (the template must put it in quotes).</item>
/// </list>
/// </summary>
public sealed partial class TomlEscaper : ValueEscaper
{
    public override string Format => "a TOML file";

    private enum State { Bare, Comment, Basic, Literal, MultiLineBasic, MultiLineLiteral }

    protected override string Escape(string value, bool literal, string before, string after)
    {
        switch (Scan(before))
        {
            case State.Comment:
                RefuseControls(value, "a comment");
                return value;
            case State.Basic or State.MultiLineBasic:
                return BackslashEscape(value, CStyleEscape);
            case State.Literal or State.MultiLineLiteral:
                RefuseControls(value, "a literal string");
                if (value.Contains('\'', StringComparison.Ordinal))
                    throw new ValueRefusedException($"holds ', which ends a literal string in {Format}; quote the value with \" in the template");
                return value;
        }
        var line = CurrentLine(before);
        var keyPosition = line.TrimStart().StartsWith('[') || !line.Contains('=', StringComparison.Ordinal);
        if (literal && !keyPosition)
            return value;
        if (keyPosition && BareKey().IsMatch(value))
            return value;
        throw new ValueRefusedException(keyPosition
            ? $"stands in a bare key of {Format}, which holds only letters, digits, _ and -; quote the key in the template"
            : $"is a string outside quotes in {Format}; put it in a string in the template (\"...\")");
    }

    /// <summary>The lexical state at the end of <paramref name="text"/> (TOML 1.0 strings and comments).</summary>
    private static State Scan(string text)
    {
        var state = State.Bare;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (state)
            {
                case State.Bare when c == '#':
                    state = State.Comment;
                    break;
                case State.Bare when c == '"':
                    state = At(text, i, "\"\"\"") ? State.MultiLineBasic : State.Basic;
                    i += state == State.MultiLineBasic ? 2 : 0;
                    break;
                case State.Bare when c == '\'':
                    state = At(text, i, "'''") ? State.MultiLineLiteral : State.Literal;
                    i += state == State.MultiLineLiteral ? 2 : 0;
                    break;
                case State.Comment or State.Basic or State.Literal when c == '\n':
                    state = State.Bare;
                    break;
                case State.Basic or State.MultiLineBasic when c == '\\':
                    i++;
                    break;
                case State.Basic when c == '"':
                case State.Literal when c == '\'':
                    state = State.Bare;
                    break;
                case State.MultiLineBasic when At(text, i, "\"\"\""):
                case State.MultiLineLiteral when At(text, i, "'''"):
                    state = State.Bare;
                    i += 2;
                    break;
            }
        }
        return state;
    }

    private static bool At(string text, int index, string token) => string.CompareOrdinal(text, index, token, 0, token.Length) == 0;

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex BareKey();
}
