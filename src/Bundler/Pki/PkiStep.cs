using Bundler.Pipeline;

namespace Bundler.Pki;

// Reads: site, state/<site>/. Writes: state/<site>/ (CAs, keys, certificates).
public sealed class PkiStep : IStep
{
    public StepName Name => StepName.Pki;
    public string Reads => "site, state/<site>/";
    public string Writes => "state/<site>/ (CAs, keys, certificates)";

    public Task RunAsync(BuildContext context, CancellationToken cancellationToken) =>
        throw new StepNotImplementedException(Steps.Name(Name));
}
