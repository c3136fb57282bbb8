using Bundler.Fetch;
using Bundler.Pipeline;

namespace Bundler.Nginx;

// Reads: FetchResult.Sources["nginx"] (lock kind: source), site arches, cache. Writes: cache/nginx/<key>/kube-nginx per arch.
/// <summary>Builds (or takes from the cache) the static kube-nginx every node runs in front of the apiservers, once per arch of the site.</summary>
public sealed class NginxStep : IStep
{
    public const string SourceArtifact = "nginx";

    public StepName Name => StepName.Nginx;
    public string Reads => "lock (nginx source), site arches, cache";
    public string Writes => "cache/nginx/<key>/kube-nginx (one per arch)";

    public async Task RunAsync(BuildContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var fetched = context.Get<FetchResult>();
        if (!fetched.Sources.TryGetValue(SourceArtifact, out var source))
            throw new UserInputException($"{context.LockFile}: no artifact '{SourceArtifact}' with kind: source; kube-nginx is built from it (SPEC §5)");

        var outcomes = await new NginxBuilder(context.CacheDir, context.Reporter).BuildAsync(source, context.Site.Arches, cancellationToken).ConfigureAwait(false);
        context.Set(new NginxResult(outcomes.ToDictionary(o => o.Provenance.Arch, o => new NginxBuild(o.Binary, o.Provenance))));
    }
}
