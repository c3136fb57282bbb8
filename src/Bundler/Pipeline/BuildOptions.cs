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

    public static string DefaultCacheDir()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(string.IsNullOrEmpty(xdg) ? Path.Combine(home, ".cache") : xdg, "kbundle");
    }

    public string ResolveCacheDir() => Path.GetFullPath(CacheDir ?? DefaultCacheDir());

    public string ResolveStateDir(string site) => Path.GetFullPath(StateDir ?? Path.Combine("state", site));

    public string ResolveOutDir(string site) => Path.GetFullPath(OutDir ?? Path.Combine("artifacts", site));
}
