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

    // --new-cluster: what the folder holds is another cluster's; this site starts anew.
    private Lazy<Packaging.BundleManifest?> _previous = new(() => Options.NewCluster ? null : Packaging.BundleManifest.ReadIfPresent(
        Path.Combine(Options.ResolveOutDir(Site.Name), Layout.BundleLayout.ManifestFile)));

    /// <summary>
    /// The build that runs on the site now (SPEC §8): the manifest of the last build in the output folder (or, for
    /// <c>kbundle plan --against DIR</c>, in DIR); null for a site never built. An etcd member new to it joins the running
    /// cluster; one it no longer has is removed; <c>plan</c> compares against it.
    /// </summary>
    public Packaging.BundleManifest? Previous
    {
        get => _previous.Value;
        init => _previous = new(() => value);
    }

    /// <summary>The site's etcd membership against the running build: who joins, who is removed.</summary>
    public Rollout.EtcdCluster Etcd => new(Site, Previous);
}
