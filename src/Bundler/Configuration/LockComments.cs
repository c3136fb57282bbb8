using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Bundler.Configuration;

/// <summary>
/// Reads the reviewed comments of a lock entry, such as <c># checksum source: kubespray checksums.yml @ 46dbdd39</c>.
/// YamlDotNet's representation model drops comments, so the entry's own lines are read by number: from the line its
/// mapping starts on to the last line before YAML indented less than its keys, only comments indented at least as far
/// as its keys. A comment goes on over the following comment lines until a blank line, a key, or another
/// "# word word: " comment.
/// </summary>
internal sealed partial class LockComments
{
    private readonly string[] _lines;

    public LockComments(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        _lines = text.ReplaceLineEndings("\n").Split('\n');
    }

    /// <summary>"# topic: text" or "# two word topic: text": the start of a new comment, not a continuation.</summary>
    [GeneratedRegex(@"\A(?<topic>[a-z][a-z]*(?: [a-z]+){0,3}):(?:\s+(?<text>.*))?\z", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Topic();

    /// <summary>The text of the entry's "# <paramref name="topic"/>: ..." comment (continuation lines joined by a space), or null.</summary>
    public string? Read(YamlMappingNode entry, string topic)
    {
        ArgumentNullException.ThrowIfNull(entry);
        // The representation model's End of a mapping is its Start: the entry ends before the first line of YAML that is
        // indented less than its keys (the next "- name:", or the next section).
        var first = (int)entry.Start.Line - 1;
        var column = (int)entry.Start.Column - 1;
        for (var i = first; i < _lines.Length && (i == first || !EndsEntry(_lines[i], column)); i++)
        {
            if (Comment(_lines[i], column) is not { } text || Topic().Match(text) is not { Success: true } start
                || !string.Equals(start.Groups["topic"].Value, topic, StringComparison.OrdinalIgnoreCase))
                continue;
            var parts = new List<string> { start.Groups["text"].Value.Trim() };
            for (var j = i + 1; j < _lines.Length && Comment(_lines[j], column) is { } more && !Topic().IsMatch(more); j++)
                parts.Add(more);
            var joined = string.Join(' ', parts.Where(p => p.Length > 0));
            return joined.Length == 0 ? null : Printable(joined);
        }
        return null;
    }

    /// <summary>A line of YAML (not blank, not a comment) indented less than the entry's keys.</summary>
    private static bool EndsEntry(string line, int column)
    {
        var rest = line.TrimStart(' ');
        return rest.Length > 0 && !rest.StartsWith('#') && line.Length - rest.Length < column;
    }

    /// <summary>The text of a comment line indented at least <paramref name="column"/> characters, trimmed; else null.</summary>
    private static string? Comment(string line, int column)
    {
        var indent = line.Length - line.TrimStart(' ').Length;
        var rest = line.TrimStart(' ');
        return indent >= column && rest.StartsWith('#') ? rest.TrimStart('#').Trim() : null;
    }

    /// <summary>A comment may hold anything; what is carried on into the manifest and the report holds no control characters.</summary>
    private static string Printable(string text) => string.Concat(text.Select(c => char.IsControl(c) ? ' ' : c));
}
