using System.Text.RegularExpressions;

namespace Bundler.Configuration;

/// <summary>
/// A container image reference, <c>registry/repository[:tag][@sha256:hex]</c>, parsed with the grammar of
/// distribution/reference (the one containerd and the kubelet use), with the registry host required: a bundle
/// never depends on a default registry. <see cref="Registry"/> and <see cref="Repository"/> are normalized the
/// way containerd names images (<c>index.docker.io</c> -> <c>docker.io</c>, <c>docker.io/busybox</c> ->
/// <c>docker.io/library/busybox</c>), so the names in a bundle's image archive match what a pod spec resolves to.
/// </summary>
public sealed partial record ImageReference(string Registry, string Repository, string? Tag, string? Digest)
{
    public const string DockerHub = "docker.io";

    // distribution/reference regexp.go, with Go's ASCII \w spelled out and \z (not $, which also matches
    // before a final newline): a reference is a single line of printable ASCII or it is refused.
    [GeneratedRegex(@"^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]{1,5})?\z|^\[[a-fA-F0-9:]+\](?::[0-9]{1,5})?\z")]
    private static partial Regex Domain();

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*\z")]
    private static partial Regex PathRegex();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\z")]
    private static partial Regex TagRegex();

    [GeneratedRegex(@"^sha256:[0-9a-f]{64}\z")]
    private static partial Regex DigestRegex();

    /// <summary>The full name without tag or digest, e.g. <c>registry.k8s.io/coredns/coredns</c>.</summary>
    public string Name => $"{Registry}/{Repository}";

    /// <summary><c>name:tag</c>, or null when the reference has no tag.</summary>
    public string? TagName => Tag is null ? null : $"{Name}:{Tag}";

    /// <summary><c>name@digest</c>: the name that resolves to exactly the pinned bytes.</summary>
    public string DigestName(string digest) => $"{Name}@{digest}";

    /// <summary>The host the distribution API is served from (Docker Hub's API is not at docker.io).</summary>
    public string ApiHost => ApiHostOf(Registry);

    public static string ApiHostOf(string registry) => registry == DockerHub ? "registry-1.docker.io" : registry;

    public override string ToString() => (TagName ?? Name) + (Digest is null ? "" : "@" + Digest);

    /// <summary>True for <c>sha256:</c> and 64 lower-case hex digits, the only digest a lock may pin.</summary>
    public static bool IsDigest(string text) => DigestRegex().IsMatch(text);

    /// <summary>True for a registry host as a reference spells it: <c>host[:port]</c>, <c>[v6]:port</c>.</summary>
    public static bool IsRegistryHost(string text) => Domain().IsMatch(text);

    /// <summary>Normalizes a registry name the way containerd does (the legacy Hub name becomes docker.io).</summary>
    public static string NormalizeRegistry(string registry) =>
        registry is "index.docker.io" or "registry-1.docker.io" ? DockerHub : registry;

    /// <summary>Parses <paramref name="text"/>, or returns null and says what is wrong in <paramref name="problem"/>.</summary>
    public static ImageReference? TryParse(string text, out string problem)
    {
        ArgumentNullException.ThrowIfNull(text);
        problem = "";
        if (text.Length == 0 || text.Any(c => c <= ' ' || c >= 0x7f))
        {
            problem = "contains whitespace, control or non-ASCII characters";
            return null;
        }
        string? digest = null;
        var rest = text;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = rest[(at + 1)..];
            rest = rest[..at];
            if (!IsDigest(digest))
            {
                problem = $"'@{digest}' is not a sha256 digest (sha256: and 64 lower-case hex digits)";
                return null;
            }
        }

        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var first = slash < 0 ? "" : rest[..slash];
        // distribution/reference's rule for "is the first component a registry": a dot, a port, upper case, or localhost.
        if (slash < 0 || !(first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost" || first.Any(char.IsAsciiLetterUpper)))
        {
            problem = "names no registry host";
            return null;
        }
        if (!Domain().IsMatch(first))
        {
            problem = $"'{first}' is not a registry host";
            return null;
        }

        var remainder = rest[(slash + 1)..];
        string? tag = null;
        var colon = remainder.LastIndexOf(':');
        if (colon >= 0)
        {
            tag = remainder[(colon + 1)..];
            remainder = remainder[..colon];
            if (!TagRegex().IsMatch(tag))
            {
                problem = $"':{tag}' is not a tag (letters, digits, '_', '.', '-'; at most 128, not starting with '.' or '-')";
                return null;
            }
        }
        if (!PathRegex().IsMatch(remainder))
        {
            problem = $"'{remainder}' is not a repository path (lower-case letters and digits, separated by '/', '.', '_', '__' or '-')";
            return null;
        }
        if (first.Length + 1 + remainder.Length > 255)
        {
            problem = "the name is longer than 255 characters";
            return null;
        }

        var registry = NormalizeRegistry(first);
        var repository = registry == DockerHub && !remainder.Contains('/', StringComparison.Ordinal) ? "library/" + remainder : remainder;
        return new ImageReference(registry, repository, tag, digest);
    }
}
