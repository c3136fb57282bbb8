namespace Bundler.Tests.Render.Escaping;

/// <summary>
/// What bash makes of a script, without its values: bash itself parses it (<c>bash --pretty-print</c> prints the parsed
/// script, one command per line, comments dropped), and each line becomes its unquoted words and its word count.
/// A value that stays inside its quotes changes neither; one that breaks out adds words, commands or lines.
/// </summary>
internal static class ShellReader
{
    public static List<string> Commands(string script)
    {
        using var dir = new TempDir("kbundle-shell-reader");
        var path = dir.File("script.sh");
        File.WriteAllText(path, script);
        var result = ProcessRunner.RunAsync("bash", ["--pretty-print", path]).GetAwaiter().GetResult();
        if (!result.Succeeded)
            return [$"bash cannot parse it: {result.StandardError.Trim()}"];
        return result.StandardOutput.Split('\n').Where(l => l.Trim().Length > 0).Select(Shape).ToList();
    }

    /// <summary>A line's words: unquoted ones as they are, any word with a quoted part as "Q", and how many there are.</summary>
    private static string Shape(string line)
    {
        var words = new List<string>();
        var word = new System.Text.StringBuilder();
        var quoted = false;
        void End()
        {
            if (word.Length > 0 || quoted)
                words.Add(quoted ? "Q" : word.ToString());
            word.Clear();
            quoted = false;
        }
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c is ' ' or '\t')
                End();
            else if (c == '\\' && i + 1 < line.Length)
            {
                quoted = true;
                i++;
            }
            else if (c == '\'')
            {
                quoted = true;
                i = line.IndexOf('\'', i + 1) is var close and >= 0 ? close : line.Length;
            }
            else if (c == '"')
            {
                quoted = true;
                for (i++; i < line.Length && line[i] != '"'; i++)
                    if (line[i] == '\\')
                        i++;
            }
            else
                word.Append(c);
        }
        End();
        return $"{words.Count}: {string.Join(' ', words)}";
    }
}
