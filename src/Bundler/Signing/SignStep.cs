using Bundler.Pipeline;

namespace Bundler.Signing;

// Reads: artifacts/<site>/*.run, manifest.json, signing key. Writes: SHA256SUMS, SHA256SUMS.sig, signing.pub.
public sealed class SignStep : IStep
{
    public StepName Name => StepName.Sign;
    public string Reads => "artifacts/<site>/*.run, manifest.json, signing key";
    public string Writes => "SHA256SUMS, SHA256SUMS.sig, signing.pub";

    public Task RunAsync(BuildContext context, CancellationToken cancellationToken) =>
        throw new StepNotImplementedException(Steps.Name(Name));
}
