using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Nginx;
using Bundler.Packaging;
using Bundler.Pki;
using Bundler.Render;
using Bundler.Signing;

namespace Bundler.Pipeline;

/// <summary>Every step's output, or null for a step that did not run (--until, or an earlier failure).</summary>
public sealed record BuildOutputs(
    FetchResult? Fetch, NginxResult? Nginx, PkiResult? Pki, RenderResult? Render, PackageResult? Package, SignResult? Sign);

/// <summary>The one entry point for a build: validate the inputs, then run the steps.</summary>
public static class Builder
{
    /// <summary>
    /// Loads the site and its lock (parsed once, here) and checks the lock provides every binary the site needs;
    /// throws <see cref="UserInputException"/> before anything is fetched or written.
    /// </summary>
    public static BuildInputs LoadInputs(BuildOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var pins = options.PinsFile is null ? PinCatalog.Default() : PinCatalog.FromFile(options.PinsFile);
        var loaded = SiteLoader.Load(options.SitePath, pins);
        if (options.TemplatesDir is not null && !Directory.Exists(options.TemplatesDir))
            throw new UserInputException($"--templates {options.TemplatesDir}: folder not found");
        var site = loaded.Site;
        var lockFile = LockFile.Load(pins.FileFor(site.Kubernetes));
        if (lockFile.Kubernetes != site.Kubernetes)
            throw new UserInputException($"{lockFile.Path}: pins Kubernetes {lockFile.Kubernetes}, but the site {site.SourcePath} asks for {site.Kubernetes}");
        lockFile.CheckProvides(site);
        lockFile.CheckImages(site);
        var inputs = new BuildInputs(site, lockFile, options) { Warnings = loaded.Warnings };
        if (inputs.StateDir == options.LegacyStateDir(site.Name))
            inputs = inputs with
            {
                Warnings = [.. inputs.Warnings, new Diagnostic(Severity.Warning, options.SitePath, 0, 0, "--state",
                    $"using {inputs.StateDir}, where an older kbundle kept the state (relative to the working folder)",
                    $"move it beside the site file, to {options.BesideSiteStateDir(site.Name)} (SPEC §6), or pass --state")],
            };
        return inputs;
    }

    public static async Task<BuildReport> BuildAsync(BuildOptions options, IBuildReporter reporter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reporter);
        var inputs = LoadInputs(options);
        foreach (var warning in inputs.Warnings)
            reporter.Warning(warning.ToString().Replace("warning: ", "", StringComparison.Ordinal));
        return await RunAsync(inputs, reporter, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The pipeline, as a table of contents: one line per step, in execution order (SPEC §6); each step takes the
    /// inputs and what the lines above it returned.
    /// </summary>
    public static async Task<BuildReport> RunAsync(BuildInputs inputs, IBuildReporter reporter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(reporter);
        // One build at a time per state and output folder, each a folder it can write, apart from each other.
        using var folders = BuildFolders.Prepare(inputs);
        // A later build of a running site must be one that can roll out (SPEC §8): refused before anything is fetched.
        Rollout.RolloutChecks.ThrowIfRefused(inputs.Site, inputs.Lock, inputs.Previous, inputs.OutDir);
        var run = new PipelineRunner(reporter, inputs.Options.Until);
        var fetched = await run.StepAsync(StepName.Fetch, ct => new FetchStep().RunAsync(inputs, reporter, ct), cancellationToken).ConfigureAwait(false);
        var nginx = await run.StepAsync(StepName.Nginx, ct => NginxStep.RunAsync(inputs, fetched!, reporter, ct), cancellationToken).ConfigureAwait(false);
        var pki = await run.StepAsync(StepName.Pki, ct => PkiStep.RunAsync(inputs, reporter, ct), cancellationToken).ConfigureAwait(false);
        var rendered = await run.StepAsync(StepName.Render, ct => RenderStep.RunAsync(inputs, fetched!, nginx!, pki!.Material, reporter, ct), cancellationToken).ConfigureAwait(false);
        var packaged = await run.StepAsync(StepName.Package, ct => PackageStep.RunAsync(inputs, rendered!, fetched!, nginx!, pki!, reporter, ct), cancellationToken).ConfigureAwait(false);
        var signed = await run.StepAsync(StepName.Sign, ct => SignStep.RunAsync(inputs, packaged!, pki!.SigningKey, reporter, ct), cancellationToken).ConfigureAwait(false);
        return run.Report(new BuildOutputs(fetched, nginx, pki, rendered, packaged, signed)) with { Inputs = inputs };
    }
}
