using System.Collections.Concurrent;
using Bundler.Configuration;
using Bundler.Fetch.Images;
using Bundler.Pipeline;

namespace Bundler.Fetch;

// Reads: site, lock (and its keys/), --mirror, --registry-mirror, --offline, cache.
// Writes: cache/<algorithm>/<checksum>, cache/unpacked/<algorithm>-<checksum>/, cache/signatures/, cache/blobs/sha256/<hex>.
/// <summary>
/// Fetches every artifact the site needs (verified, cached), unpacks the named members of each archive into a
/// folder keyed by the archive checksum, checks each OpenPGP signature the lock names, fetches the lock's images for
/// the site's arches (docs/images.md), and hands on (arch, node path) -> local file and the verified images.
/// </summary>
public sealed class FetchStep(FetchSettings? settings = null) : IStep
{
    private const string CompleteMarker = ".kbundle-unpacked";
    private readonly FetchSettings _settings = settings ?? FetchSettings.Default;

    public StepName Name => StepName.Fetch;
    public string Reads => "site, lock, cache";
    public string Writes => "cache/<algorithm>/<checksum>, cache/unpacked/, cache/signatures/, cache/blobs/";

    public async Task RunAsync(BuildContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var site = context.Site;
        var lockFile = LockFile.Load(context.LockFile);
        if (lockFile.Kubernetes != site.Kubernetes)
            throw new UserInputException($"{lockFile.Path}: pins Kubernetes {lockFile.Kubernetes}, but the site {site.SourcePath} asks for {site.Kubernetes}");
        lockFile.CheckProvides(site);

        var artifacts = lockFile.ArtifactsFor(site).ToList();
        var cache = new ArtifactCache(context.CacheDir);
        using var fetcher = new ArtifactFetcher(cache, context.Options.Mirrors, context.Options.Offline, _settings, context.Reporter);
        fetcher.CheckOfflineAvailability(artifacts);

        // One fetch per checksum: two entries pinning the same bytes share one cache entry and one partial file.
        var entries = new ConcurrentDictionary<(string, string), string>();
        var distinct = artifacts.DistinctBy(a => (a.Algorithm, a.Checksum)).ToList();
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
            context.Reporter.Info($"{artifact.Name} {artifact.Version} {artifact.Arch}: good OpenPGP signature by {by}, made {signer.SignedAt:yyyy-MM-dd}");
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

        var images = await FetchImagesAsync(context, lockFile, cancellationToken).ConfigureAwait(false);

        var records = artifacts.Select(a => new ArtifactRecord(a.Name, a.Version, a.Arch, a.Url, a.Algorithm, a.Checksum,
            signers.TryGetValue((a.Name, a.Arch), out var s) ? s.Fingerprint : null)).ToList();
        context.Set(new FetchResult(records, files) { Sources = sources, Images = images });
        context.Reporter.Info($"fetch: {artifacts.Count} artifact(s) verified, {files.Count} file(s) ready in {cache.Root}");
    }

    /// <summary>Every image of the lock, for every arch of the site (SPEC §7 later narrows this to what the site uses).</summary>
    private async Task<IReadOnlyList<FetchedImage>> FetchImagesAsync(BuildContext context, LockFile lockFile, CancellationToken cancellationToken)
    {
        if (lockFile.Images.Count == 0)
            return [];
        var arches = context.Site.Arches.ToList();
        var requests = lockFile.Images.Select(image => new ImageRequest(image, arches)).ToList();
        using var fetcher = new ImageFetcher(new BlobCache(context.CacheDir), context.Options.Mirrors, context.Options.RegistryMirrors,
            context.Options.Offline, _settings, context.Reporter);
        var images = await fetcher.FetchAsync(requests, cancellationToken).ConfigureAwait(false);
        var blobs = images.SelectMany(i => arches.SelectMany(i.BlobsFor)).DistinctBy(b => b.Digest).ToList();
        context.Reporter.Info($"fetch: {images.Count} image(s) verified for {string.Join(", ", arches.Select(a => "linux/" + Names.Of(a)))}: " +
                              $"{blobs.Count} blob(s), {blobs.Sum(b => b.Size) / 1048576.0:0.0} MiB in {Path.Combine(context.CacheDir, "blobs")}");
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
        var temp = $"{dir}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
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
