using Bundler.Configuration;
using Bundler.Pipeline;

namespace Bundler.Fetch;

/// <summary>
/// Puts one verified copy of each artifact into the cache, trying in order: the cache itself (re-verified),
/// <c>--mirror DIR</c> folders (by file name), <c>--mirror URL</c> base URLs (same file name), then the
/// artifact's own URL. Every byte from every source is checked against the lock before it enters the cache;
/// a mismatch is quarantined and fails the build.
/// </summary>
public sealed class ArtifactFetcher : IDisposable
{
    private readonly ArtifactCache _cache;
    private readonly IReadOnlyList<string> _mirrorDirs;
    private readonly IReadOnlyList<Uri> _mirrorUrls;
    private readonly bool _offline;
    private readonly IBuildReporter _reporter;
    private readonly FetchSettings _settings;
    private readonly Lazy<Downloader> _downloader;

    public ArtifactFetcher(ArtifactCache cache, IReadOnlyList<string> mirrors, bool offline, FetchSettings settings, IBuildReporter reporter)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(mirrors);
        _cache = cache;
        _offline = offline;
        _settings = settings;
        _reporter = reporter;
        var dirs = new List<string>();
        var urls = new List<Uri>();
        foreach (var mirror in mirrors)
        {
            if (Uri.TryCreate(mirror, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
                urls.Add(new Uri(uri.AbsoluteUri.TrimEnd('/') + "/"));
            else if (Directory.Exists(mirror))
                dirs.Add(Path.GetFullPath(mirror));
            else
                throw new UserInputException($"--mirror {mirror}: neither an http(s) URL nor an existing folder");
        }
        _mirrorDirs = dirs;
        _mirrorUrls = urls;
        _downloader = new Lazy<Downloader>(() => new Downloader(settings, message => reporter.Info(message)));
    }

    /// <summary>Offline: names every artifact neither the cache nor a mirror folder holds, before any work.</summary>
    public void CheckOfflineAvailability(IEnumerable<LockArtifact> artifacts)
    {
        if (!_offline)
            return;
        var missing = artifacts.Where(a => !File.Exists(_cache.EntryPath(a)) && !_mirrorDirs.Any(d => File.Exists(Path.Combine(d, a.FileName)))).ToList();
        if (missing.Count == 0)
            return;
        var where = _mirrorDirs.Count == 0 ? $"the cache {_cache.Root}" : $"the cache {_cache.Root} or the mirror folder(s) {string.Join(", ", _mirrorDirs)}";
        throw new UserInputException(
            $"--offline: {missing.Count} artifact(s) are not in {where}:{Environment.NewLine}" +
            string.Join(Environment.NewLine, missing.Select(a => $"  {a.Name} {a.Version} {a.Arch}: {a.FileName} ({a.Url})")) + Environment.NewLine +
            "carry them in with --mirror DIR, or run once without --offline");
    }

    /// <summary>Returns the path of the verified cache entry for <paramref name="artifact"/>.</summary>
    public async Task<string> FetchAsync(LockArtifact artifact, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        var label = $"{artifact.Name} {artifact.Version} {artifact.Arch}";
        var entry = _cache.EntryPath(artifact);
        if (File.Exists(entry))
        {
            var actual = await Checksums.OfFileAsync(entry, artifact.Algorithm, cancellationToken).ConfigureAwait(false);
            if (actual == artifact.Checksum)
                return entry;
            // A cache entry changed after it was verified (disk fault, tampering): never use it.
            var moved = _cache.Quarantine(entry, artifact, actual);
            _reporter.Warning($"{label}: cached copy no longer matches its {artifact.Algorithm} (actual {actual}); moved to {moved}, fetching again");
        }

        foreach (var dir in _mirrorDirs)
        {
            var candidate = Path.Combine(dir, artifact.FileName);
            if (File.Exists(candidate))
                return await CopyFromFolderAsync(artifact, candidate, cancellationToken).ConfigureAwait(false);
        }

        if (_offline)
            throw new UserInputException($"--offline: {label} ({artifact.FileName}) is neither in the cache {_cache.Root} nor in a mirror folder");

        var failures = new List<string>();
        var sources = _mirrorUrls.Select(m => new Uri(m, Uri.EscapeDataString(artifact.FileName))).Append(new Uri(artifact.Url));
        foreach (var url in sources)
        {
            try
            {
                return await DownloadAsync(artifact, url, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpStatusException or HttpRequestException or IOException or TimeoutException)
            {
                failures.Add($"  {url}: {e.Message}");
                _reporter.Warning($"{label}: {url} failed: {e.Message}");
            }
        }
        throw new FetchException($"{label}: could not download from any source (after {_settings.Retries} retries each):{Environment.NewLine}" +
                                 string.Join(Environment.NewLine, failures));
    }

    private async Task<string> DownloadAsync(LockArtifact artifact, Uri url, CancellationToken cancellationToken)
    {
        var partial = _cache.PartialPath(artifact);
        using var progress = _reporter.Begin($"{artifact.Name} {artifact.Version} {artifact.Arch}");
        var actual = await _downloader.Value.DownloadAsync(url, partial, artifact.Algorithm, progress, cancellationToken).ConfigureAwait(false);
        if (actual != artifact.Checksum)
            throw Mismatch(artifact, url.ToString(), actual, _cache.Quarantine(partial, artifact, actual));
        progress.Complete($"verified {artifact.Algorithm}");
        return _cache.Admit(partial, artifact);
    }

    private async Task<string> CopyFromFolderAsync(LockArtifact artifact, string source, CancellationToken cancellationToken)
    {
        var temp = _cache.NewTempPath(artifact.FileName);
        using var progress = _reporter.Begin($"{artifact.Name} {artifact.Version} {artifact.Arch} (mirror folder)", new FileInfo(source).Length);
        using var hash = Checksums.Create(artifact.Algorithm);
        await using (var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan | FileOptions.Asynchronous))
        await using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
        {
            var buffer = new byte[1 << 20];
            int read;
            while ((read = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                progress.Advance(read);
            }
        }
        var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (actual != artifact.Checksum)
            throw Mismatch(artifact, source, actual, _cache.Quarantine(temp, artifact, actual));
        progress.Complete($"verified {artifact.Algorithm}");
        return _cache.Admit(temp, artifact);
    }

    private static IntegrityException Mismatch(LockArtifact artifact, string source, string actual, string quarantined) =>
        new($"{artifact.Name} {artifact.Version} {artifact.Arch}: checksum mismatch for {source}{Environment.NewLine}" +
            $"  expected {artifact.Algorithm} {artifact.Checksum}{Environment.NewLine}" +
            $"  actual   {artifact.Algorithm} {actual}{Environment.NewLine}" +
            $"  the file was moved to {quarantined}; nothing was added to the cache");

    public void Dispose()
    {
        if (_downloader.IsValueCreated)
            _downloader.Value.Dispose();
    }
}
