using System.Text;

namespace Bundler.Audit;

/// <summary>
/// Package URLs (github.com/package-url/purl-spec) for what a bundle carries: <c>pkg:generic/NAME@VERSION?…</c> for
/// upstream downloads (download_url, checksum), <c>pkg:oci/NAME@sha256:…?repository_url=…&amp;tag=…</c> for images.
/// Qualifiers are sorted by key; every character outside letters, digits, <c>.-_~</c> and <c>:</c> is percent-encoded
/// (the spec's "characters and encoding": a colon is never encoded).
/// </summary>
public static class Purl
{
    public static string Generic(string name, string? version, IEnumerable<KeyValuePair<string, string>> qualifiers) =>
        Build("generic", name, version, qualifiers);

    /// <summary>
    /// An OCI image by digest: the name is the last segment of the repository, lower-cased; repository_url is where it
    /// was pulled from (registry and repository, no scheme), tag the tag it was known by.
    /// </summary>
    public static string Oci(string reference, string digest, string? arch = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var (repository, tag) = SplitTag(reference);
        var qualifiers = new List<KeyValuePair<string, string>> { new("repository_url", repository) };
        if (tag is not null)
            qualifiers.Add(new("tag", tag));
        if (arch is not null)
            qualifiers.Add(new("arch", arch));
        return Build("oci", repository[(repository.LastIndexOf('/') + 1)..].ToLowerInvariant(), digest, qualifiers);
    }

    /// <summary><c>registry/repo:tag</c> → (<c>registry/repo</c>, <c>tag</c>); the tag is what follows the last ':' after the last '/'.</summary>
    public static (string Repository, string? Tag) SplitTag(string reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var at = reference.IndexOf('@', StringComparison.Ordinal);
        var name = at < 0 ? reference : reference[..at];
        var colon = name.LastIndexOf(':');
        return colon > name.LastIndexOf('/') ? (name[..colon], name[(colon + 1)..]) : (name, null);
    }

    private static string Build(string type, string name, string? version, IEnumerable<KeyValuePair<string, string>> qualifiers)
    {
        var text = new StringBuilder("pkg:").Append(type).Append('/').Append(Encode(name));
        if (version is not null)
            text.Append('@').Append(Encode(version));
        var sorted = qualifiers.Where(q => q.Value.Length > 0).OrderBy(q => q.Key, StringComparer.Ordinal).ToList();
        for (var i = 0; i < sorted.Count; i++)
            text.Append(i == 0 ? '?' : '&').Append(sorted[i].Key).Append('=').Append(Encode(sorted[i].Value));
        return text.ToString();
    }

    public static string Encode(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var text = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '~' or ':')
                text.Append(c);
            else
                text.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return text.ToString();
    }
}
