using System.Text;

namespace Bundler.Tests.Render.Escaping;

/// <summary>
/// Reads nginx.conf into directives the way nginx's tokenizer does (src/core/ngx_conf_file.c ngx_conf_read_token),
/// written from that source independently of NginxEscaper: the test's oracle. A token is a quoted string (which
/// must be followed by a space, ';' or '{') or a run of characters up to a space, ';' or '{'; a backslash keeps the
/// next character; '#' at a token start comments to the end of the line. A '$' throws: nginx would expand it.
/// </summary>
internal static class NginxReader
{
    public sealed record Directive(IReadOnlyList<string> Arguments, char End);

    public static List<Directive> Read(string text)
    {
        var directives = new List<Directive>();
        var arguments = new List<string>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c is ' ' or '\t' or '\r' or '\n')
            {
                i++;
            }
            else if (c == '#')
            {
                while (i < text.Length && text[i] != '\n')
                    i++;
            }
            else if (c is ';' or '{' or '}')
            {
                Assert.True(c != '}' || arguments.Count == 0, $"unexpected }} after {string.Join(" ", arguments)}");
                directives.Add(new Directive(arguments, c));
                arguments = [];
                i++;
            }
            else if (c is '"' or '\'')
            {
                var token = new StringBuilder();
                for (i++; ; i++)
                {
                    Assert.True(i < text.Length, "unterminated quote");
                    if (text[i] == '\\' && i + 1 < text.Length)
                        token.Append(Unescape(text[++i]));
                    else if (text[i] == c)
                        break;
                    else
                        token.Append(text[i]);
                }
                i++;
                Assert.True(i == text.Length || text[i] is ' ' or '\t' or '\r' or '\n' or ';' or '{', $"unexpected {text[i]} after a quoted string");
                arguments.Add(Checked(token.ToString()));
            }
            else
            {
                var token = new StringBuilder();
                for (; i < text.Length && text[i] is not (' ' or '\t' or '\r' or '\n' or ';' or '{'); i++)
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                        token.Append(Unescape(text[++i]));
                    else
                        token.Append(text[i]);
                }
                arguments.Add(Checked(token.ToString()));
            }
        }
        Assert.Empty(arguments);
        return directives;
    }

    private static string Unescape(char c) => c switch
    {
        '"' or '\'' or '\\' => c.ToString(),
        't' => "\t",
        'r' => "\r",
        'n' => "\n",
        _ => "\\" + c,
    };

    private static string Checked(string token)
    {
        Assert.DoesNotContain('$', token);
        return token;
    }
}
