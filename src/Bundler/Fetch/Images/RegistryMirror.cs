using Bundler.Configuration;

namespace Bundler.Fetch.Images;

/// <summary>
/// <c>--registry-mirror REGISTRY=URL</c>: images of REGISTRY are pulled from URL first (a pull-through cache or
/// a copy serving the same repository paths under <c>/v2/</c>), then from REGISTRY itself. Every blob is still
/// verified against the lock, so a mirror needs no trust.
/// </summary>
public sealed record RegistryMirror(string Registry, Uri Url)
{
    public const string Usage = "allowed: REGISTRY=URL, e.g. registry.k8s.io=https://mirror.example.org or docker.io=http://10.0.0.5:5000";

    public static RegistryMirror Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
            throw Bad(text, "is not REGISTRY=URL");
        var registry = text[..equals];
        var url = text[(equals + 1)..];
        if (!ImageReference.IsRegistryHost(registry))
            throw Bad(text, $"'{registry}' is not a registry host (host[:port] as image references spell it)");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || url.Any(char.IsWhiteSpace))
            throw Bad(text, $"'{url}' is not an http(s) URL");
        if (uri.UserInfo.Length > 0)
            throw Bad($"{registry}={uri.Scheme}://***@{url[(url.LastIndexOf('@') + 1)..]}", "the URL carries credentials; kbundle pulls anonymously and takes no secrets in options");
        if (uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0)
            throw Bad(text, $"'{url}' has a path, query or fragment; the mirror serves /v2/ at its root");
        return new RegistryMirror(ImageReference.NormalizeRegistry(registry), new Uri(uri.GetLeftPart(UriPartial.Authority)));
    }

    private static UserInputException Bad(string text, string problem) => new($"--registry-mirror {text}: {problem}; {Usage}");
}
