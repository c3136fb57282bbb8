using System.Text;
using System.Text.RegularExpressions;

namespace Bundler.Inspection;

/// <summary>
/// Finds secrets inside file contents so that <c>diff</c>, <c>inspect</c> and logs can say "changed" without ever
/// printing them: PEM private keys wherever they sit, and the values of secret-bearing keys in kubeconfigs and
/// Kubernetes configs (<c>client-key-data</c>, the encryption provider's <c>secret</c>, tokens, passwords).
/// </summary>
public static partial class Secrets
{
    /// <summary>YAML keys whose value is a secret (kubeconfig users, EncryptionConfiguration keys, tokens).</summary>
    [GeneratedRegex(@"^(?<lead>\s*(?:-\s+)?(?<key>client-key-data|client-key|secret|token|password|bootstrap-token|private-key)\s*:\s*)(?<value>\S.*?)\s*\z",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretLine();

    [GeneratedRegex(@"-----BEGIN (?<label>[A-Z0-9 ]*PRIVATE KEY)-----.*?-----END \k<label>-----", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex PemPrivateKey();

    public const string Hidden = "<secret: not shown>";

    /// <summary>One secret found in a file: where (line of the redacted text, key or PEM label) and its value.</summary>
    public sealed record Found(int Line, string What, string Value);

    /// <summary>The text with every secret replaced by <see cref="Hidden"/>, and the secrets found, in file order.</summary>
    public static (string Text, IReadOnlyList<Found> Found) Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var found = new List<Found>();
        var withoutPem = PemPrivateKey().Replace(text, m =>
        {
            found.Add(new Found(LineOf(text, m.Index), m.Groups["label"].Value, m.Value));
            return $"-----{m.Groups["label"].Value}: not shown-----";
        });
        var lines = withoutPem.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var match = SecretLine().Match(lines[i]);
            if (!match.Success || match.Groups["value"].Value.StartsWith("-----", StringComparison.Ordinal))
                continue;
            found.Add(new Found(i + 1, match.Groups["key"].Value, match.Groups["value"].Value));
            lines[i] = match.Groups["lead"].Value + Hidden;
        }
        return (string.Join('\n', lines), found);
    }

    /// <summary>Whether a file's bytes hold anything <see cref="Redact"/> would hide.</summary>
    public static bool Contains(byte[] content)
    {
        ArgumentNullException.ThrowIfNull(content);
        return Redact(Encoding.UTF8.GetString(content)).Found.Count > 0;
    }

    /// <summary>
    /// What changed between two versions of a file, secrets hidden: a unified diff of the redacted texts, then one
    /// line per secret whose value changed ("secret changed: PATH line N client-key-data (value not shown)").
    /// </summary>
    public static IReadOnlyList<string> Diff(string path, string oldText, string newText)
    {
        var (oldRedacted, oldSecrets) = Redact(oldText);
        var (newRedacted, newSecrets) = Redact(newText);
        var lines = new List<string>();
        var diff = UnifiedDiff.Render(oldRedacted, newRedacted, "a" + path, "b" + path).TrimEnd('\n');
        if (diff.Length > 0)
            lines.Add(diff);
        var count = Math.Max(oldSecrets.Count, newSecrets.Count);
        for (var i = 0; i < count; i++)
        {
            var o = i < oldSecrets.Count ? oldSecrets[i] : null;
            var n = i < newSecrets.Count ? newSecrets[i] : null;
            if (o?.Value == n?.Value)
                continue;
            var verb = o is null ? "added" : n is null ? "removed" : "changed";
            var at = (n ?? o)!;
            lines.Add($"secret {verb}: {path} line {at.Line} {at.What} (value not shown)");
        }
        return lines;
    }

    private static int LineOf(string text, int index) => text.AsSpan(0, index).Count('\n') + 1;
}
