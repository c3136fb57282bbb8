using Bundler.Fetch;
using Bundler.Layout;
using Bundler.Nginx;
using Bundler.Packaging;
using Bundler.Pipeline;
using Bundler.Pki;
using Bundler.Render;

namespace Bundler.Rollout;

/// <summary>
/// <c>kbundle plan</c> (SPEC §8): what a build would write, compared with the build that runs on the site, without writing
/// the state or the output folder. The refusals are checked first (nothing fetched when the change cannot roll out); then
/// the pipeline runs up to what package decides before it writes (<see cref="PackageStep.PrepareAsync"/>), against a
/// private copy of the state folder: certificates it would issue are issued there and thrown away. Downloads, the
/// kube-nginx build and compressed members go to the cache, as a build's would (the build then reuses them).
/// </summary>
public static class Planner
{
    /// <param name="inputs">The build's inputs; <see cref="BuildInputs.Previous"/> is the running build (<c>--against</c>).</param>
    /// <param name="against">The folder the running build was read from, for messages.</param>
    public static async Task<SitePlan> PlanAsync(BuildInputs inputs, string against, int batch, IBuildReporter reporter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(reporter);
        if (batch < 1)
            throw new UserInputException($"--batch {batch}: allowed: 1 or more workers at a time");
        var running = inputs.Previous;
        RolloutChecks.ThrowIfRefused(inputs.Site, inputs.Lock, running, against);
        var scratch = Directory.CreateTempSubdirectory("kbundle-plan-").FullName;
        try
        {
            var state = Path.Combine(scratch, "state");
            CopyState(inputs.StateDir, state);
            var scratchInputs = new BuildInputs(inputs.Site, inputs.Lock, inputs.Options with { StateDir = state, OutDir = Path.Combine(scratch, "out") })
            {
                Warnings = inputs.Warnings, Clock = inputs.Clock, Previous = running,
            };
            var fetched = await new FetchStep().RunAsync(scratchInputs, reporter, cancellationToken).ConfigureAwait(false);
            var nginx = await NginxStep.RunAsync(scratchInputs, fetched, reporter, cancellationToken).ConfigureAwait(false);
            var pki = await PkiStep.RunAsync(scratchInputs, reporter, cancellationToken).ConfigureAwait(false);
            var rendered = await RenderStep.RunAsync(scratchInputs, fetched, nginx, pki.Material, reporter, cancellationToken).ConfigureAwait(false);
            var package = await PackageStep.PrepareAsync(scratchInputs, rendered, fetched, nginx, pki, reporter, cancellationToken).ConfigureAwait(false);
            return SitePlan.Of(inputs.Site, running, package.Planned(), rendered, against, batch);
        }
        finally
        {
            // It held a copy of the CA keys.
            Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>A private copy of the state folder (0700 folders, modes kept), or nothing when the site has no state yet.</summary>
    private static void CopyState(string from, string to)
    {
        SecretFolder(to);
        if (!Directory.Exists(from))
            return;
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
            SecretFolder(Path.Combine(to, Path.GetRelativePath(from, dir)));
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            File.Copy(file, target);
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(target, File.GetUnixFileMode(file));
        }
    }

    private static void SecretFolder(string path)
    {
        if (OperatingSystem.IsWindows())
            Directory.CreateDirectory(path);
        else
            Directory.CreateDirectory(path, NodeFile.SecretDir);
    }
}
