using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Fetch.Images;
using Bundler.Pipeline;

namespace Bundler.Tests.Fetch.Images;

[CollectionDefinition(Name)]
public sealed class RegistryCollection : ICollectionFixture<RegistryWorld>
{
    public const string Name = "registry";
}

/// <summary>
/// One real registry per test run, started on first use (so a run without the tools skips instead of failing in
/// a fixture): <c>test/busybox:v1</c> is <see cref="OciTestLayout"/> pushed with its digests preserved (OCI media
/// types), <c>test/busybox-docker:v1</c> the same image converted by skopeo to Docker schema 2 media types.
/// </summary>
public sealed class RegistryWorld : IAsyncLifetime
{
    public const string OciRepository = "test/busybox";
    public const string DockerRepository = "test/busybox-docker";
    private readonly SemaphoreSlim _gate = new(1);
    private readonly TempDir _root = new("kbundle-registry");
    private LocalRegistry? _registry;

    public LocalRegistry Registry => _registry ?? throw new InvalidOperationException("call StartAsync first");
    public OciTestLayout Layout { get; private set; } = null!;
    public string DockerIndex { get; private set; } = "";

    public async Task<RegistryWorld> StartAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (_registry is not null)
                return this;
            Layout = OciTestLayout.Build(_root.File("layout"));
            var registry = await LocalRegistry.StartAsync(_root.Path);
            await registry.PushAsync($"oci:{Layout.Dir}:{OciTestLayout.Tag}", OciRepository, OciTestLayout.Tag);
            await registry.PushAsync($"oci:{Layout.Dir}:{OciTestLayout.Tag}", DockerRepository, OciTestLayout.Tag, dockerMediaTypes: true);
            DockerIndex = await registry.DigestAsync(DockerRepository, OciTestLayout.Tag);
            _registry = registry;
            return this;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A lock entry for the OCI image as the registry serves it.</summary>
    public LockImage Pin(string name = "busybox", string? registry = null, string repository = OciRepository, string? digest = null) =>
        new(name, ImageReference.TryParse($"{registry ?? Registry.Host}/{repository}:{OciTestLayout.Tag}", out _)!, digest ?? Layout.Index, Location.None);

    /// <summary>
    /// Quick retries, but a stall timeout long enough that a loaded test machine never turns a slow answer into
    /// a retry (these tests count requests; stalls are FetchStepTests' business).
    /// </summary>
    public static readonly FetchSettings Settings = new() { Retries = 2, RetryDelay = TimeSpan.FromMilliseconds(10), StallTimeout = TimeSpan.FromSeconds(20), MaxParallel = 4 };

    public static ImageFetcher Fetcher(string cacheDir, IBuildReporter reporter, IReadOnlyList<string>? mirrors = null,
        IReadOnlyList<RegistryMirror>? registryMirrors = null, bool offline = false, FetchSettings? settings = null) =>
        new(new BlobCache(cacheDir), mirrors ?? [], registryMirrors ?? [], offline, settings ?? Settings, reporter);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_registry is not null)
            await _registry.DisposeAsync();
        _root.Dispose();
        _gate.Dispose();
    }
}
