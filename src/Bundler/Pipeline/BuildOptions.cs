namespace Bundler.Pipeline;

/// <summary>The pipeline's steps in execution order (SPEC §6).</summary>
public enum StepName { Fetch, Nginx, Pki, Render, Package, Sign }

/// <summary>Everything <c>kbundle build</c> was asked for, after parsing. Defaults follow SPEC §6.</summary>
public sealed record BuildOptions
{
    public required string SitePath { get; init; }
    public string? PinsFile { get; init; }
    /// <summary><c>--mirror</c> values in the order given: base URLs or local folders.</summary>
    public IReadOnlyList<string> Mirrors { get; init; } = [];
    /// <summary><c>--registry-mirror REGISTRY=URL</c> values in the order given (tried before the registry itself).</summary>
    public IReadOnlyList<Fetch.Images.RegistryMirror> RegistryMirrors { get; init; } = [];
    public string? CacheDir { get; init; }
    public string? StateDir { get; init; }
    public string? OutDir { get; init; }
    public bool Offline { get; init; }
    public StepName? Until { get; init; }
    public string? TemplatesDir { get; init; }
    public bool Renew { get; init; }
    public bool Json { get; init; }
    /// <summary><c>--new-cluster</c>: make a new CA even though the output folder holds bundles another key signed.</summary>
    public bool NewCluster { get; init; }

    public static string DefaultCacheDir()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(string.IsNullOrEmpty(xdg) ? Path.Combine(home, ".cache") : xdg, "kbundle");
    }

    public string ResolveCacheDir() => Path.GetFullPath(CacheDir ?? DefaultCacheDir());

    /// <summary>
    /// SPEC §6: --state, else beside the site file (<c>&lt;site file's folder&gt;/state/&lt;site&gt;</c>, as §2 names it: one
    /// folder per site, so two site files in one folder never share a CA), never relative to the working folder. A state
    /// folder an older kbundle made there (<c>./state/&lt;site&gt;</c>) is still used while none exists beside the site
    /// file (<see cref="LegacyStateDir"/> says so).
    /// </summary>
    public string ResolveStateDir(string site, string? workingDirectory = null)
    {
        if (StateDir is not null)
            return Path.GetFullPath(StateDir);
        var beside = BesideSiteStateDir(site);
        return Directory.Exists(beside) ? beside : LegacyStateDir(site, workingDirectory) ?? beside;
    }

    /// <summary>The state folder beside the site file.</summary>
    public string BesideSiteStateDir(string site) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(SitePath)) ?? ".", "state", site);

    /// <summary>The working folder's <c>state/&lt;site&gt;</c> when it holds a build's state (older kbundle versions put it there); else null.</summary>
    public string? LegacyStateDir(string site, string? workingDirectory = null)
    {
        var legacy = Path.Combine(Path.GetFullPath(workingDirectory ?? Directory.GetCurrentDirectory()), "state", site);
        return StateDir is null && legacy != BesideSiteStateDir(site) && File.Exists(Path.Combine(legacy, Pki.CertificateTable.Ca + ".crt")) ? legacy : null;
    }

    public string ResolveOutDir(string site) => Path.GetFullPath(OutDir ?? Path.Combine("artifacts", site));
}
