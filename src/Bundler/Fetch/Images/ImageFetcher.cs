using System.Collections.Concurrent;
using System.Security.Cryptography;
using Bundler.Configuration;
using Bundler.Pipeline;

namespace Bundler.Fetch.Images;

/// <summary>Fetch one pinned image for these arches (a node of each runs it).</summary>
public sealed record ImageRequest(LockImage Image, IReadOnlyCollection<Arch> Arches);

/// <summary>
/// Puts every blob of each pinned image that the asked arches need into the <see cref="BlobCache"/>, walking
/// from the pinned digest: the index (or single-platform manifest), each arch's manifest, its config and
/// layers. Each blob is looked for, in order, in the cache (re-verified), in carried-in OCI layouts
/// (<c>--mirror DIR</c> holding <c>DIR/oci/</c>), then (unless offline) at each <c>--registry-mirror</c> of the
/// image's registry and at the registry itself. Nothing enters the cache before its sha256 and size match.
/// </summary>
public sealed class ImageFetcher : IDisposable
{
    private readonly BlobCache _cache;
    private readonly IReadOnlyList<string> _layouts;
    private readonly IReadOnlyList<RegistryMirror> _mirrors;
    private readonly bool _offline;
    private readonly FetchSettings _settings;
    private readonly IBuildReporter _reporter;
    private readonly Lazy<Downloader> _downloader;
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _blobs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Uri, RegistryClient> _clients = new();

    /// <param name="mirrors">The <c>--mirror</c> values; each folder among them that holds <c>oci/</c> is a carried-in OCI layout.</param>
    public ImageFetcher(BlobCache cache, IReadOnlyList<string> mirrors, IReadOnlyList<RegistryMirror> registryMirrors, bool offline,
        FetchSettings settings, IBuildReporter reporter)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(mirrors);
        ArgumentNullException.ThrowIfNull(registryMirrors);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(reporter);
        _cache = cache;
        _mirrors = registryMirrors;
        _offline = offline;
        _settings = settings;
        _reporter = reporter;
        _layouts = LayoutsIn(mirrors);
        _slots = new SemaphoreSlim(Math.Max(1, settings.MaxParallel));
        _downloader = new Lazy<Downloader>(() => new Downloader(settings, message => reporter.Info(message)));
    }

    /// <summary>The carried-in OCI layouts: <c>DIR/oci/</c> of each <c>--mirror DIR</c> that has one.</summary>
    public IReadOnlyList<string> Layouts => _layouts;

    private static List<string> LayoutsIn(IReadOnlyList<string> mirrors)
    {
        var layouts = new List<string>();
        foreach (var mirror in mirrors.Where(Directory.Exists))
        {
            var layout = Path.GetFullPath(Path.Combine(mirror, "oci"));
            if (!Directory.Exists(layout))
                continue;
            if (!File.Exists(Path.Combine(layout, "oci-layout")))
                throw new UserInputException($"--mirror {mirror}: {layout} is not an OCI image layout (it has no oci-layout file); " +
                                             "write one with e.g. skopeo copy --all docker://REF@DIGEST oci:DIR/oci:NAME");
            layouts.Add(layout);
        }
        return layouts;
    }

    /// <summary>
    /// Fetches every image (in parallel, at most <see cref="FetchSettings.MaxParallel"/> blobs at once) and returns
    /// them in request order. Offline, every image that is not complete in the cache and the layouts is named.
    /// </summary>
    public async Task<IReadOnlyList<FetchedImage>> FetchAsync(IReadOnlyList<ImageRequest> requests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var results = new FetchedImage?[requests.Count];
        var missing = new ConcurrentDictionary<int, string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, requests.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, requests.Count), CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                try
                {
                    results[i] = await FetchImageAsync(requests[i], ct).ConfigureAwait(false);
                }
                catch (BlobMissingException e)
                {
                    missing[i] = $"  {requests[i].Image.Name}: {requests[i].Image.Ref}@{requests[i].Image.Digest} ({e.Message})";
                }
            }).ConfigureAwait(false);

        if (!missing.IsEmpty)
        {
            var where = _layouts.Count == 0 ? $"the cache {_cache.Root}" : $"the cache {_cache.Root} or the OCI layout(s) {string.Join(", ", _layouts)}";
            throw new UserInputException(
                $"--offline: {missing.Count} image(s) are not complete in {where}:{Environment.NewLine}" +
                string.Join(Environment.NewLine, missing.OrderBy(m => m.Key).Select(m => m.Value)) + Environment.NewLine +
                "carry them in with --mirror DIR holding an OCI layout DIR/oci/ (skopeo copy --all docker://REF@DIGEST oci:DIR/oci:NAME), or run once without --offline");
        }
        return results.Select(r => r!).ToList();
    }

    private async Task<FetchedImage> FetchImageAsync(ImageRequest request, CancellationToken cancellationToken)
    {
        var image = request.Image;
        var label = $"image {image.Name} ({image.Ref}@{image.Digest})";
        var rootPath = await BlobAsync(new BlobSpec(image, image.Digest, null, IsManifest: true, $"{image.Name} pinned blob"), cancellationToken).ConfigureAwait(false);
        var rootBytes = await File.ReadAllBytesAsync(rootPath, cancellationToken).ConfigureAwait(false);
        using var document = OciDocuments.Parse(rootBytes, label);
        var mediaType = OciDocuments.MediaTypeOf(document.RootElement, label);
        var root = new OciBlob(mediaType, image.Digest, rootBytes.Length, rootPath);
        var arches = request.Arches.Distinct().Order().ToList();
        if (arches.Count == 0)
            throw new ArgumentException($"image {image.Name} is requested for no arch", nameof(request));

        var platforms = new Dictionary<Arch, FetchedPlatform>();
        if (MediaTypes.IsIndex(mediaType))
        {
            var manifests = OciDocuments.IndexManifests(document.RootElement, label);
            var tasks = new List<Task<FetchedPlatform>>();
            foreach (var arch in arches)
            {
                var descriptor = manifests.FirstOrDefault(m => m.Platform?.RunsOn(arch) == true)
                    ?? throw new UserInputException(
                        $"{label}: the pinned index has no linux/{Names.Of(arch)} image, but the site has {Names.Of(arch)} nodes; " +
                        $"it has: {string.Join(", ", manifests.Select(m => m.Platform?.ToString() ?? "(no platform)"))}");
                if (MediaTypes.IsIndex(descriptor.MediaType))
                    throw new UserInputException($"{label}: the linux/{Names.Of(arch)} entry is itself an index; kbundle reads one level of index");
                tasks.Add(FetchPlatformAsync(image, arch, descriptor, cancellationToken));
            }
            foreach (var platform in await Task.WhenAll(tasks).ConfigureAwait(false))
                platforms[platform.Arch] = platform;
        }
        else
        {
            // A single-platform pin: the config says which platform it is.
            var (configDescriptor, _) = OciDocuments.Manifest(document.RootElement, label);
            var platform = await FetchPlatformAsync(image, arches[0], new OciDescriptor(mediaType, image.Digest, rootBytes.Length, null), cancellationToken).ConfigureAwait(false);
            using var config = OciDocuments.Parse(await File.ReadAllBytesAsync(platform.Config.LocalPath, cancellationToken).ConfigureAwait(false), $"{label} config");
            var declared = OciDocuments.ConfigPlatform(config.RootElement, $"{label} config {configDescriptor.Digest}");
            foreach (var arch in arches)
            {
                if (!declared.RunsOn(arch))
                    throw new UserInputException(
                        $"{label}: pins a single-platform image for {declared}, but the site has {Names.Of(arch)} nodes; pin the multi-arch index instead");
                platforms[arch] = platform with { Arch = arch, Platform = declared };
            }
        }
        return new FetchedImage(image, root, platforms);
    }

    private async Task<FetchedPlatform> FetchPlatformAsync(LockImage image, Arch arch, OciDescriptor descriptor, CancellationToken cancellationToken)
    {
        var platformName = descriptor.Platform?.ToString() ?? $"linux/{Names.Of(arch)}";
        var label = $"{image.Name} {platformName}";
        var manifestPath = await BlobAsync(new BlobSpec(image, descriptor.Digest, descriptor.Size, IsManifest: true, $"{label} manifest"), cancellationToken).ConfigureAwait(false);
        var bytes = await File.ReadAllBytesAsync(manifestPath, cancellationToken).ConfigureAwait(false);
        using var document = OciDocuments.Parse(bytes, $"image {image.Name} {platformName} manifest {descriptor.Digest}");
        var mediaType = OciDocuments.MediaTypeOf(document.RootElement, $"image {image.Name} {platformName} manifest {descriptor.Digest}");
        if (!MediaTypes.IsManifest(mediaType))
            throw new UserInputException($"image {image.Name} {platformName}: {descriptor.Digest} is an index where a manifest was expected");
        var (config, layers) = OciDocuments.Manifest(document.RootElement, $"image {image.Name} {platformName} manifest {descriptor.Digest}");

        var configTask = BlobAsync(new BlobSpec(image, config.Digest, config.Size, IsManifest: false, $"{label} config"), cancellationToken);
        var layerTasks = layers.Select((l, i) => BlobAsync(new BlobSpec(image, l.Digest, l.Size, IsManifest: false, $"{label} layer {i + 1}/{layers.Count}"), cancellationToken)).ToList();
        var configPath = await configTask.ConfigureAwait(false);
        var layerPaths = await Task.WhenAll(layerTasks).ConfigureAwait(false);
        return new FetchedPlatform(arch, descriptor.Platform ?? new OciPlatform("linux", Names.Of(arch), null),
            new OciBlob(mediaType, descriptor.Digest, bytes.Length, manifestPath),
            new OciBlob(config.MediaType, config.Digest, config.Size, configPath),
            layers.Select((l, i) => new OciBlob(l.MediaType, l.Digest, l.Size, layerPaths[i])).ToList());
    }

    /// <summary>What to fetch: a digest, its size when a descriptor gave it, and whether it is served at /manifests/.</summary>
    private sealed record BlobSpec(LockImage Image, string Digest, long? Size, bool IsManifest, string Label);

    /// <summary>One acquisition per digest per run: images sharing a layer fetch it once.</summary>
    private Task<string> BlobAsync(BlobSpec spec, CancellationToken cancellationToken) =>
        _blobs.GetOrAdd(spec.Digest, _ => new Lazy<Task<string>>(() => AcquireAsync(spec, cancellationToken))).Value;

    private async Task<string> AcquireAsync(BlobSpec spec, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (cached, actual) = await _cache.VerifyAsync(spec.Digest, spec.Size, cancellationToken).ConfigureAwait(false);
            if (cached is not null)
                return cached;
            if (actual is not null)
                _reporter.Warning($"{spec.Label}: the cached blob no longer matches {spec.Digest} (actual {actual}); moved to {_cache.QuarantineDir}, fetching again");

            foreach (var layout in _layouts)
            {
                var candidate = Path.Combine(layout, "blobs", "sha256", spec.Digest["sha256:".Length..]);
                if (File.Exists(candidate))
                    return await CopyFromLayoutAsync(spec, candidate, cancellationToken).ConfigureAwait(false);
            }

            if (_offline)
                throw new BlobMissingException($"{spec.Label} {spec.Digest} is missing");
            return await DownloadAsync(spec, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _slots.Release();
        }
    }

    private async Task<string> CopyFromLayoutAsync(BlobSpec spec, string source, CancellationToken cancellationToken)
    {
        var temp = _cache.NewTempPath(spec.Digest);
        using var progress = _reporter.Begin($"{spec.Label} (OCI layout)", new FileInfo(source).Length);
        Verify(spec, temp, "sha256:" + await Checksums.CopyAndHashAsync(source, temp, "sha256", progress, cancellationToken).ConfigureAwait(false), source);
        progress.Complete("verified sha256");
        return _cache.Admit(temp, spec.Digest);
    }

    private async Task<string> DownloadAsync(BlobSpec spec, CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        foreach (var client in ClientsFor(spec.Image.Reference.Registry))
        {
            var repository = spec.Image.Reference.Repository;
            try
            {
                if (spec.IsManifest)
                {
                    var answer = await client.GetManifestAsync(repository, spec.Digest, spec.Size ?? RegistryClient.MaxManifestBytes, cancellationToken).ConfigureAwait(false);
                    var temp = _cache.NewTempPath(spec.Digest);
                    await File.WriteAllBytesAsync(temp, answer.Body, cancellationToken).ConfigureAwait(false);
                    Verify(spec, temp, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(answer.Body)), answer.Url.ToString());
                    return _cache.Admit(temp, spec.Digest);
                }

                var partial = _cache.PartialPath(spec.Digest);
                if (File.Exists(partial) && new FileInfo(partial).Length > spec.Size)
                    File.Delete(partial); // left by a server that sent too much: it can only fail verification
                using var progress = _reporter.Begin(spec.Label, spec.Size);
                var hex = await client.DownloadBlobAsync(repository, spec.Digest, partial, spec.Size!.Value, progress, cancellationToken).ConfigureAwait(false);
                Verify(spec, partial, "sha256:" + hex, client.BlobUrl(repository, spec.Digest).ToString());
                progress.Complete("verified sha256");
                return _cache.Admit(partial, spec.Digest);
            }
            catch (Exception e) when (e is HttpStatusException or HttpRequestException or IOException or TimeoutException)
            {
                failures.Add($"  {client.BaseUrl}: {e.Message}");
                _reporter.Warning($"{spec.Label}: {client.BaseUrl} failed: {e.Message}");
            }
        }
        throw new FetchException($"{spec.Label} {spec.Digest} ({spec.Image.Ref}): could not download from any source (after {_settings.Retries} retries each):{Environment.NewLine}" +
                                 string.Join(Environment.NewLine, failures));
    }

    /// <summary>The <c>--registry-mirror</c>s of this registry in the order given, then the registry itself.</summary>
    private IEnumerable<RegistryClient> ClientsFor(string registry) =>
        _mirrors.Where(m => m.Registry == registry).Select(m => m.Url)
            .Append(RegistryClient.EndpointFor(ImageReference.ApiHostOf(registry)))
            .Select(url => _clients.GetOrAdd(url, u => new RegistryClient(u, _downloader.Value)));

    /// <summary>Checks digest and size; a mismatch is quarantined (never cached) and fails the build (exit 4).</summary>
    private void Verify(BlobSpec spec, string file, string actual, string source)
    {
        var size = new FileInfo(file).Length;
        if (actual == spec.Digest && (spec.Size is null || size == spec.Size))
            return;
        var moved = _cache.Quarantine(file, spec.Digest, actual);
        throw new IntegrityException(
            $"{spec.Label} ({spec.Image.Ref}): digest mismatch for {source}{Environment.NewLine}" +
            $"  expected {spec.Digest}{(spec.Size is null ? "" : $" ({spec.Size} bytes)")}{Environment.NewLine}" +
            $"  actual   {actual} ({size} bytes){Environment.NewLine}" +
            $"  the file was moved to {moved}; nothing was added to the cache");
    }

    public void Dispose()
    {
        if (_downloader.IsValueCreated)
            _downloader.Value.Dispose();
        _slots.Dispose();
    }

    /// <summary>Offline and in no local source: collected per image, then named all at once.</summary>
    private sealed class BlobMissingException(string message) : Exception(message);
}
