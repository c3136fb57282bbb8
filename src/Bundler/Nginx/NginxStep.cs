using Bundler.Pipeline;

namespace Bundler.Nginx;

// Reads: lock (nginx source), cache. Writes: cache/nginx/<key>/kube-nginx.
public sealed class NginxStep : IStep
{
    public StepName Name => StepName.Nginx;
    public string Reads => "lock (nginx source), cache";
    public string Writes => "cache/nginx/<key>/kube-nginx";

    public Task RunAsync(BuildContext context, CancellationToken cancellationToken) =>
        throw new StepNotImplementedException(Steps.Name(Name));
}
