using Bundler.Pipeline;

namespace Bundler.Render;

// Reads: site, pki state, bundle-templates/. Writes: per-node file trees.
public sealed class RenderStep : IStep
{
    public StepName Name => StepName.Render;
    public string Reads => "site, pki state, bundle-templates/";
    public string Writes => "per-node file trees";

    public Task RunAsync(BuildContext context, CancellationToken cancellationToken) =>
        throw new StepNotImplementedException(Steps.Name(Name));
}
