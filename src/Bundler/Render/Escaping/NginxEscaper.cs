namespace Bundler.Render.Escaping;

/// <summary>
/// nginx.conf (the tokenizer of src/core/ngx_conf_file.c). Where a value stands decides its escaping:
/// <list type="bullet">
/// <item>a comment: carried as is;</item>
/// <item>inside a quoted string: <c>\</c> and the quote backslash-escaped;</item>
/// <item>a whole token (<c>listen {{ v }};</c>): left as is when it holds no space, <c>; { } # " ' \</c>, else
/// double-quoted;</item>
/// <item>part of a larger token (<c>server {{ ip }}:{{ port }}</c>): nginx cannot quote part of a token, so such
/// characters are refused.</item>
/// </list>
/// <c>$</c> is refused outside comments: nginx expands it as a variable in many directives and has no escape for it.
/// </summary>
public sealed class NginxEscaper : ValueEscaper
{
    private const string Special = " ;{}#\"'\\";

    public override string Format => "nginx.conf";

    private enum State { Token, Comment, Double, Single }

    protected override string Escape(string value, bool literal, string before, string after)
    {
        var (state, tokenStart) = Scan(before);
        if (state == State.Comment)
        {
            RefuseControls(value, "a comment");
            return value;
        }
        RefuseControls(value, "a value");
        if (value.Contains('$', StringComparison.Ordinal))
            throw new ValueRefusedException($"holds $, which {Format} expands as a variable and cannot escape");
        if (state is State.Double or State.Single)
            return Quoted(value, state == State.Double ? '"' : '\'');
        var whole = tokenStart && (after.Length == 0 || after[0] is ' ' or '\t' or ';' or '{');
        var special = value.Length == 0 || value.Any(c => Special.Contains(c, StringComparison.Ordinal));
        if (!special)
            return value;
        if (whole)
            return "\"" + Quoted(value, '"') + "\"";
        throw new ValueRefusedException(
            $"stands inside a larger token of {Format}, which cannot quote part of a token; there a value may not be empty or hold a space or ; {{ }} # \" ' \\");
    }

    private static string Quoted(string value, char quote) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(quote.ToString(), "\\" + quote, StringComparison.Ordinal);

    /// <summary>The tokenizer's state at the end of <paramref name="text"/>, and whether a new token starts there.</summary>
    private static (State State, bool TokenStart) Scan(string text)
    {
        var state = State.Token;
        var tokenStart = true;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (state)
            {
                case State.Comment:
                    if (c == '\n')
                        (state, tokenStart) = (State.Token, true);
                    continue;
                case State.Double or State.Single:
                    if (c == '\\')
                        i++;
                    else if (c == (state == State.Double ? '"' : '\''))
                        (state, tokenStart) = (State.Token, false);
                    continue;
            }
            if (c is ' ' or '\t' or '\r' or '\n' or ';' or '{')
                tokenStart = true;
            else if (tokenStart && c == '}')
                tokenStart = true;
            else if (tokenStart && c == '#')
                state = State.Comment;
            else if (tokenStart && c is '"' or '\'')
                state = c == '"' ? State.Double : State.Single;
            else
            {
                if (c == '\\')
                    i++;
                tokenStart = false;
            }
        }
        return (state, tokenStart);
    }
}
