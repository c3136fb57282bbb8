using Bundler.Configuration;

namespace Bundler.Pipeline;

/// <summary>The one entry point for a build: validate the inputs, then run the steps.</summary>
public static class Builder
{
    /// <summary>Loads the site and lock choice; throws <see cref="UserInputException"/> before anything is written.</summary>
    public static (SiteLoader.Result Site, string LockFile) LoadInputs(BuildOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var pins = options.PinsFile is null ? PinCatalog.Default() : PinCatalog.FromFile(options.PinsFile);
        var loaded = SiteLoader.Load(options.SitePath, pins);
        if (options.TemplatesDir is not null && !Directory.Exists(options.TemplatesDir))
            throw new UserInputException($"--templates {options.TemplatesDir}: folder not found");
        var lockFile = pins.FileFor(loaded.Site.Kubernetes);
        // Before anything is fetched or written: the lock must be valid and provide every binary the site needs.
        LockFile.Load(lockFile).CheckProvides(loaded.Site);
        return (loaded, lockFile);
    }

    public static async Task<BuildReport> BuildAsync(BuildOptions options, IBuildReporter reporter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reporter);
        var (loaded, lockFile) = LoadInputs(options);
        foreach (var warning in loaded.Warnings)
            reporter.Warning(warning.ToString().Replace("warning: ", "", StringComparison.Ordinal));
        var context = new BuildContext(loaded.Site, lockFile, options, reporter);
        return await new PipelineRunner().RunAsync(context, Steps.All(), cancellationToken).ConfigureAwait(false);
    }
}
