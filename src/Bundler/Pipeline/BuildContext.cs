using Bundler.Configuration;

namespace Bundler.Pipeline;

/// <summary>
/// The typed context every step receives (the Cake.Frosting shape): the validated inputs, where to write,
/// and one slot per step output. A step fills only its own slot; the runner checks nothing is read before
/// it was written.
/// </summary>
public sealed class BuildContext
{
    private readonly Dictionary<Type, object> _outputs = [];

    public BuildContext(SiteSpec site, string lockFile, BuildOptions options, IBuildReporter reporter)
    {
        Site = site;
        LockFile = lockFile;
        Options = options;
        Reporter = reporter;
        CacheDir = options.ResolveCacheDir();
        StateDir = options.ResolveStateDir(site.Name);
        OutDir = options.ResolveOutDir(site.Name);
    }

    public SiteSpec Site { get; }
    /// <summary>Path of the lock file chosen for <see cref="SiteSpec.Kubernetes"/> (or <c>--pins</c>).</summary>
    public string LockFile { get; }
    public BuildOptions Options { get; }
    public IBuildReporter Reporter { get; }
    public string CacheDir { get; }
    public string StateDir { get; }
    public string OutDir { get; }

    /// <summary>Stores a step's output (one value per type).</summary>
    public void Set<T>(T output) where T : class => _outputs[typeof(T)] = output;

    /// <summary>A previous step's output; a bug (not a user error) if that step has not run.</summary>
    public T Get<T>() where T : class =>
        _outputs.TryGetValue(typeof(T), out var value)
            ? (T)value
            : throw new InvalidOperationException($"{typeof(T).Name} is read before the step that writes it ran");

    public bool TryGet<T>(out T? output) where T : class
    {
        output = _outputs.TryGetValue(typeof(T), out var value) ? (T)value : null;
        return output is not null;
    }
}
