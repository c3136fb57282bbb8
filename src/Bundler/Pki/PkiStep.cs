using Bundler.Pipeline;

namespace Bundler.Pki;

// Reads: site, state/<site>/. Writes: state/<site>/ (CAs, keys, certificates, index.json, encryption.key, signing.key).
public sealed class PkiStep : IStep
{
    public StepName Name => StepName.Pki;
    public string Reads => "site, state/<site>/";
    public string Writes => "state/<site>/ (CAs, keys, certificates, index.json, encryption.key, signing.key)";

    public Task RunAsync(BuildContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        cancellationToken.ThrowIfCancellationRequested();
        // Key generation is CPU-bound and already parallel inside; run it off the caller's thread.
        return Task.Run(() =>
        {
            var result = PkiStore.Ensure(context.Site, context.StateDir, context.Options.Renew, context.Reporter);
            context.Set<IPkiResult>(result);
        }, cancellationToken);
    }
}
