using Bundler.Fetch;
using Bundler.Pipeline;

namespace Bundler.Nginx;

// Reads: FetchResult.Sources["nginx"] (lock kind: source), cache. Writes: cache/nginx/<key>/kube-nginx.
/// <summary>Builds (or takes from the cache) the static kube-nginx every node runs in front of the apiservers.</summary>
public sealed class NginxStep : IStep
{
    public const string SourceArtifact = "nginx";

    public StepName Name => StepName.Nginx;
    public string Reads => "lock (nginx source), cache";
    public string Writes => "cache/nginx/<key>/kube-nginx";

    public async Task RunAsync(BuildContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var fetched = context.Get<FetchResult>();
        if (!fetched.Sources.TryGetValue(SourceArtifact, out var source))
            throw new UserInputException($"{context.LockFile}: no artifact '{SourceArtifact}' with kind: source; kube-nginx is built from it (SPEC §5)");

        var arches = context.Site.Arches.ToList();
        var outcome = await new NginxBuilder(context.CacheDir, context.Reporter).BuildAsync(source, arches, cancellationToken).ConfigureAwait(false);
        context.Set(new NginxResult(arches.ToDictionary(a => a, _ => outcome.Binary), outcome.Provenance));
    }
}
