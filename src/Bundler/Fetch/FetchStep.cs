using System.Collections.Concurrent;
using Bundler.Configuration;
using Bundler.Pipeline;

namespace Bundler.Fetch;

// Writes: cache/<algorithm>/<checksum>, cache/unpacked/<algorithm>-<checksum>/ (--cache).
/// <summary>
/// Fetches every artifact the site needs (verified, cached; <c>--mirror</c>, <c>--offline</c>), unpacks the named
/// members of each archive into a folder keyed by the archive checksum, and hands on (arch, node path) -> local file.
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
        fetcher.CheckOfflineAvailability(artifacts);

        // One fetch per checksum: two entries pinning the same bytes share one cache entry and one partial file.
        var entries = new ConcurrentDictionary<(string, string), string>();
        var distinct = artifacts.DistinctBy(a => (a.Algorithm, a.Checksum)).ToList();
        await Parallel.ForEachAsync(distinct,
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _settings.MaxParallel), CancellationToken = cancellationToken },
            async (artifact, ct) => entries[(artifact.Algorithm, artifact.Checksum)] = await fetcher.FetchAsync(artifact, ct).ConfigureAwait(false)).ConfigureAwait(false);

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

        var records = artifacts.Select(a => new ArtifactRecord(a.Name, a.Version, a.Arch, a.Url, a.Algorithm, a.Checksum)).ToList();
        reporter.Info($"fetch: {artifacts.Count} artifact(s) verified, {files.Count} file(s) ready in {cache.Root}");
        return new FetchResult(records, files) { Sources = sources };
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
