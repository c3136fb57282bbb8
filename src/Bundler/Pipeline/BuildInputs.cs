using Bundler.Configuration;

namespace Bundler.Pipeline;

/// <summary>
/// The validated inputs of one build, read once by <see cref="Builder.LoadInputs"/>: the site, its lock, the options,
/// where to write, and the clock (tests fix it). Every step takes what it needs from here and from the steps before it.
/// </summary>
public sealed record BuildInputs(SiteSpec Site, LockFile Lock, BuildOptions Options)
{
    /// <summary>Warnings the site file raised; the build prints them and goes on.</summary>
    public IReadOnlyList<Diagnostic> Warnings { get; init; } = [];

    /// <summary>What "now" is for certificates (validity, renewal).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    public string CacheDir { get; } = Options.ResolveCacheDir();
    public string StateDir { get; } = Options.ResolveStateDir(Site.Name);
    public string OutDir { get; } = Options.ResolveOutDir(Site.Name);
}
