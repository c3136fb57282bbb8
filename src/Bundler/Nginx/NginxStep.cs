using Bundler.Fetch;
using Bundler.Pipeline;

namespace Bundler.Nginx;

// Writes: cache/nginx/<key>/kube-nginx, one per arch of the site (--cache).
/// <summary>Builds (or takes from the cache) the static kube-nginx every node runs in front of the apiservers, once per arch of the site.</summary>
public static class NginxStep
{
    /// <summary>The lock artifact (kind: source) kube-nginx is built from.</summary>
    public const string SourceArtifact = "nginx";

    public static async Task<NginxResult> RunAsync(BuildInputs inputs, FetchResult fetched, IBuildReporter reporter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(fetched);
        if (!fetched.Sources.TryGetValue(SourceArtifact, out var source))
            throw new UserInputException($"{inputs.Lock.Path}: no artifact '{SourceArtifact}' with kind: source; kube-nginx is built from it (SPEC §5)");

        var outcomes = await new NginxBuilder(inputs.CacheDir, reporter).BuildAsync(source, inputs.Site.Arches, cancellationToken).ConfigureAwait(false);
        return new NginxResult(outcomes.ToDictionary(o => o.Provenance.Arch, o => new NginxBuild(o.Binary, o.Provenance)));
    }
}
