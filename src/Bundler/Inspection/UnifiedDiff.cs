using System.Text;

namespace Bundler.Inspection;

/// <summary>A unified diff of two texts (LCS, 3 lines of context): enough for config files, which are small.</summary>
public static class UnifiedDiff
{
    public static string Render(string oldText, string newText, string oldName, string newName, int context = 3)
    {
        ArgumentNullException.ThrowIfNull(oldText);
        ArgumentNullException.ThrowIfNull(newText);
        var a = Lines(oldText);
        var b = Lines(newText);
        var lcs = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
            for (var j = b.Length - 1; j >= 0; j--)
                lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);

        // The edit script: (' ', old index, new index), ('-', i, j), ('+', i, j).
        var ops = new List<(char Op, int I, int J)>();
        int x = 0, y = 0;
        while (x < a.Length || y < b.Length)
        {
            if (x < a.Length && y < b.Length && a[x] == b[y]) { ops.Add((' ', x, y)); x++; y++; }
            // Deletions before insertions, as diff -u prints them.
            else if (x < a.Length && (y == b.Length || lcs[x + 1, y] >= lcs[x, y + 1])) { ops.Add(('-', x, y)); x++; }
            else { ops.Add(('+', x, y)); y++; }
        }
        if (ops.All(o => o.Op == ' '))
            return "";

        var text = new StringBuilder().Append("--- ").Append(oldName).Append('\n').Append("+++ ").Append(newName).Append('\n');
        var k = 0;
        while (k < ops.Count)
        {
            if (ops[k].Op == ' ') { k++; continue; }
            var start = Math.Max(0, k - context);
            var end = k;
            // Extend the hunk while changes are within 2*context lines of each other.
            var last = k;
            while (end < ops.Count)
            {
                if (ops[end].Op != ' ')
                    last = end;
                else if (end - last > 2 * context)
                    break;
                end++;
            }
            end = Math.Min(ops.Count, last + context + 1);
            var hunk = ops.GetRange(start, end - start);
            var oldStart = hunk[0].I + 1;
            var newStart = hunk[0].J + 1;
            var oldCount = hunk.Count(o => o.Op != '+');
            var newCount = hunk.Count(o => o.Op != '-');
            text.Append($"@@ -{(oldCount == 0 ? oldStart - 1 : oldStart)},{oldCount} +{(newCount == 0 ? newStart - 1 : newStart)},{newCount} @@\n");
            foreach (var (op, i, j) in hunk)
                text.Append(op).Append(op == '+' ? b[j] : a[i]).Append('\n');
            k = end;
        }
        return text.ToString();
    }

    private static string[] Lines(string text) =>
        text.Length == 0 ? [] : text.TrimEnd('\n').Split('\n');
}
