using Bundler.Pipeline;
using Bundler.Signing;

namespace Bundler.Pki;

// Writes: state/<site>/ (mode 0700): CAs, keys, certificates, index.json, encryption.key, signing.key, signing.pub,
// source-date-epoch. Later builds reuse all of it (PkiStore says what is re-issued and when).
public static class PkiStep
{
    public static Task<PkiResult> RunAsync(BuildInputs inputs, IBuildReporter reporter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        cancellationToken.ThrowIfCancellationRequested();
        // Key generation is CPU-bound and already parallel inside; run it off the caller's thread.
        return Task.Run(() => Run(inputs, reporter), cancellationToken);
    }

    public static PkiResult Run(BuildInputs inputs, IBuildReporter reporter)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var material = PkiStore.Ensure(inputs.Site, inputs.StateDir, inputs.Options.Renew, reporter, inputs.Clock.GetUtcNow());
        return new PkiResult(material, SigningKey.Ensure(inputs.StateDir), SourceDateEpoch.Ensure(inputs.StateDir));
    }
}
