using Bundler.Pipeline;

namespace Bundler.Fetch;

// Reads: site, lock. Writes: cache/<algorithm>/<checksum>.
public sealed class FetchStep : IStep
{
    public StepName Name => StepName.Fetch;
    public string Reads => "site, lock";
    public string Writes => "cache/<algorithm>/<checksum>";

    public Task RunAsync(BuildContext context, CancellationToken cancellationToken) =>
        throw new StepNotImplementedException(Steps.Name(Name));
}
