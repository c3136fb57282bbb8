using Bundler.Pipeline;

namespace Bundler.Packaging;

// Reads: rendered trees, fetched binaries. Writes: artifacts/<site>/<node>.run, manifest.json.
public sealed class PackageStep : IStep
{
    public StepName Name => StepName.Package;
    public string Reads => "rendered trees, fetched binaries";
    public string Writes => "artifacts/<site>/<node>.run, manifest.json";

    public Task RunAsync(BuildContext context, CancellationToken cancellationToken) =>
        throw new StepNotImplementedException(Steps.Name(Name));
}
