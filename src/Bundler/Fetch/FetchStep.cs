using System.Collections.Concurrent;
using Bundler.Configuration;
using Bundler.Fetch.Images;
using Bundler.Layout;
using Bundler.Pipeline;

namespace Bundler.Fetch;

// Writes: cache/<algorithm>/<checksum>, cache/unpacked/<algorithm>-<checksum>/, cache/signatures/, cache/blobs/sha256/<hex> (--cache).
/// <summary>
/// Fetches every artifact the site needs (verified, cached; <c>--mirror</c>, <c>--registry-mirror</c>, <c>--offline</c>),
/// unpacks the named members of each archive into a folder keyed by the archive checksum, checks each OpenPGP
/// signature the lock names (keys/ beside it), fetches the images the site uses for the arches of its kubelet nodes
/// and its add-on manifests (docs/images.md), and hands on (arch, node path) -> local file, the verified images and
/// the verified manifests.
/// </summary>
public sealed class FetchStep(FetchSettings? settings = null)
{
    private const string CompleteMarker = ".kbundle-unpacked";
    private readonly FetchSettings _settings = settings ?? FetchSettings.Default;

    public async Task<FetchResult> RunAsync(BuildInputs inputs, IBuildReporter reporter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(reporter);
        var site = inputs.Site;
        var artifacts = inputs.Lock.ArtifactsFor(site).ToList();
        var cache = new ArtifactCache(inputs.CacheDir);
        using var fetcher = new ArtifactFetcher(cache, inputs.Options.Mirrors, inputs.Options.Offline, _settings, reporter);
        var addonArtifacts = site.Addons.Where(a => a.Manifest?.Url is not null).ToDictionary(a => a.Name, AddonArtifact);
        fetcher.CheckOfflineAvailability(artifacts.Concat(addonArtifacts.Values));

        // One fetch per checksum: two entries pinning the same bytes share one cache entry and one partial file.
        var entries = new ConcurrentDictionary<(string, string), string>();
        var distinct = artifacts.Concat(addonArtifacts.Values).DistinctBy(a => (a.Algorithm, a.Checksum)).ToList();
        await Parallel.ForEachAsync(distinct,
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _settings.MaxParallel), CancellationToken = cancellationToken },
            async (artifact, ct) => entries[(artifact.Algorithm, artifact.Checksum)] = await fetcher.FetchAsync(artifact, ct).ConfigureAwait(false)).ConfigureAwait(false);

        // Every build, also from a warm cache: nothing pins a signature's bytes, and checking one costs one hash of the file.
        var signers = new ConcurrentDictionary<(string, string), OpenPgpSigner>();
        await Parallel.ForEachAsync(artifacts.Where(a => a.Signature is not null),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _settings.MaxParallel), CancellationToken = cancellationToken },
            async (artifact, ct) => signers[(artifact.Name, artifact.Arch)] =
                await fetcher.VerifySignatureAsync(artifact, entries[(artifact.Algorithm, artifact.Checksum)], ct).ConfigureAwait(false)).ConfigureAwait(false);
        foreach (var artifact in artifacts.Where(a => a.Signature is not null))
        {
            var signer = signers[(artifact.Name, artifact.Arch)];
            var by = signer.SigningKey == signer.Fingerprint ? signer.Fingerprint : $"{signer.Fingerprint} (subkey {signer.SigningKey})";
            reporter.Info($"{artifact.Name} {artifact.Version} {artifact.Arch}: good OpenPGP signature by {by}, made {signer.SignedAt:yyyy-MM-dd}");
        }

        var files = new Dictionary<(Arch, string), FetchedFile>();
        var sources = new Dictionary<string, FetchedSource>(StringComparer.Ordinal);
        foreach (var artifact in artifacts)
        {
            var entry = entries[(artifact.Algorithm, artifact.Checksum)];
            if (artifact.Kind == ArtifactKind.Source)
            {
                sources[artifact.Name] = new FetchedSource(artifact, entry);
                continue;
            }
            var local = artifact.Install is not null
                ? new Dictionary<string, string> { [artifact.Install] = entry }
                : Unpack(cache, artifact, entry).ToDictionary(m => artifact.Files[m.Key], m => m.Value);
            foreach (var arch in site.Arches.Where(artifact.AppliesTo))
                foreach (var (nodePath, path) in local)
                    files[(arch, nodePath)] = new FetchedFile(path, artifact.Name);
        }

        var images = await FetchImagesAsync(inputs, reporter, cancellationToken).ConfigureAwait(false);
        var addons = await ReadAddonsAsync(site, a => entries[(addonArtifacts[a.Name].Algorithm, addonArtifacts[a.Name].Checksum)], cancellationToken).ConfigureAwait(false);

        var records = artifacts.Select(a => new ArtifactRecord(a.Name, a.Version, a.Arch, a.Url, a.Algorithm, a.Checksum,
            signers.TryGetValue((a.Name, a.Arch), out var s) ? s.Fingerprint : null, a.License, a.ChecksumSource)).ToList();
        reporter.Info($"fetch: {artifacts.Count} artifact(s) verified, {files.Count} file(s) ready in {cache.Root}");
        if (addons.Count > 0)
            reporter.Info($"fetch: {addons.Count} add-on manifest(s) verified: {string.Join(", ", addons.Select(a => a.Addon.Name))}");
        return new FetchResult(records, files) { Sources = sources, Images = images, Addons = addons };
    }

    /// <summary>An add-on manifest at a URL, fetched like an artifact (cache by checksum, --mirror by file name, --offline).</summary>
    private static LockArtifact AddonArtifact(AddonSpec addon) =>
        new($"add-on {addon.Name}", "manifest", "any", addon.Manifest!.Url!, "sha256", addon.Manifest.Sha256, new Dictionary<string, string>(), null,
            ArtifactKind.Source, addon.At);

    /// <summary>
    /// Each add-on manifest's bytes, read once and checked against the site's sha256 (a file beside the site file is
    /// verified here; a fetched one was verified on its way into the cache and is checked again as it is read).
    /// </summary>
    private static async Task<IReadOnlyList<FetchedAddon>> ReadAddonsAsync(SiteSpec site, Func<AddonSpec, string> cached, CancellationToken cancellationToken)
    {
        var result = new List<FetchedAddon>();
        foreach (var addon in site.Addons.Where(a => !a.IsBuiltIn))
        {
            var manifest = addon.Manifest!;
            var path = manifest.File ?? cached(addon);
            var bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
            var actual = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
            if (actual != manifest.Sha256)
                throw new IntegrityException($"add-on {addon.Name}: the manifest {manifest.Source} does not match the site file's sha256{Environment.NewLine}" +
                                             $"  expected sha256 {manifest.Sha256}{Environment.NewLine}  actual   sha256 {actual}{Environment.NewLine}" +
                                             "  nothing is applied unverified; fix the manifest or the site file's sha256");
            result.Add(new FetchedAddon(addon, bytes));
        }
        return result;
    }

    /// <summary>
    /// The images the site's kubelet nodes carry (the sandbox image, the add-ons', the site's own: <see cref="LockFile.ImagesFor"/>),
    /// for the arches of those nodes only. Nothing else of the lock's images: is fetched.
    /// </summary>
    private async Task<IReadOnlyList<FetchedImage>> FetchImagesAsync(BuildInputs inputs, IBuildReporter reporter, CancellationToken cancellationToken)
    {
        var arches = inputs.Site.Nodes.Where(ComponentTable.Images.RunsOn).Select(n => n.Arch).Distinct().Order().ToList();
        var wanted = inputs.Lock.ImagesFor(inputs.Site);
        if (wanted.Count == 0 || arches.Count == 0)
            return [];
        var requests = wanted.Select(image => new ImageRequest(image, arches)).ToList();
        using var fetcher = new ImageFetcher(new BlobCache(inputs.CacheDir), inputs.Options.Mirrors, inputs.Options.RegistryMirrors,
            inputs.Options.Offline, _settings, reporter);
        var images = await fetcher.FetchAsync(requests, cancellationToken).ConfigureAwait(false);
        var blobs = images.SelectMany(i => arches.SelectMany(i.BlobsFor)).DistinctBy(b => b.Digest).ToList();
        reporter.Info($"fetch: {images.Count} image(s) verified for {string.Join(", ", arches.Select(a => "linux/" + Names.Of(a)))}: " +
                      $"{blobs.Count} blob(s), {blobs.Sum(b => b.Size) / 1048576.0:0.0} MiB in {Path.Combine(inputs.CacheDir, "blobs")}");
        return images;
    }

    /// <summary>Unpacks the lock's members once per archive checksum; a warm build only reads the marker.</summary>
    private static IReadOnlyDictionary<string, string> Unpack(ArtifactCache cache, LockArtifact artifact, string archive)
    {
        var dir = cache.UnpackDir(artifact);
        var members = artifact.Files.Keys.Order(StringComparer.Ordinal).ToList();
        var marker = Path.Combine(dir, CompleteMarker);
        var expected = string.Join('\n', members);
        var result = members.ToDictionary(m => m, m => Path.Combine(dir, SafeUnpacker.Normalize(m)));
        if (File.Exists(marker) && File.ReadAllText(marker) == expected && result.Values.All(File.Exists))
            return result;

        // Unpack beside the final folder, then swap it in: a killed build never leaves a half-unpacked folder marked complete.
        var temp = AtomicFile.TempName(dir);
        try
        {
            SafeUnpacker.Extract(archive, $"{artifact.FileName} ({artifact.Name} {artifact.Arch})", temp, members);
            File.WriteAllText(Path.Combine(temp, CompleteMarker), expected);
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
            Directory.Move(temp, dir);
        }
        finally
        {
            if (Directory.Exists(temp))
                Directory.Delete(temp, recursive: true);
        }
        return result;
    }
}
