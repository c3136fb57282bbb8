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

    /// <summary>Offline: names every artifact (and signature) neither the cache nor a mirror folder holds, before any work.</summary>
    public void CheckOfflineAvailability(IEnumerable<LockArtifact> artifacts)
    {
        if (!_offline)
            return;
        var list = artifacts.ToList();
        var missing = list.Where(a => !File.Exists(_cache.EntryPath(a)) && !InMirrorFolder(a.FileName))
            .Select(a => $"  {Label(a)}: {a.FileName} ({a.Url})").ToList();
        var unsigned = list.Where(a => a.Signature is { } s && !File.Exists(_cache.SignaturePath(a)) && !InMirrorFolder(s.FileName))
            .Select(a => $"  {Label(a)} signature: {a.Signature!.FileName} ({a.Signature.Url})").ToList();
        if (missing.Count + unsigned.Count == 0)
            return;
        var where = _mirrorDirs.Count == 0 ? $"the cache {_cache.Root}" : $"the cache {_cache.Root} or the mirror folder(s) {string.Join(", ", _mirrorDirs)}";
        var what = unsigned.Count == 0 ? $"{missing.Count} artifact(s)" : $"{missing.Count} artifact(s) and {unsigned.Count} signature(s)";
        throw new UserInputException(
            $"--offline: {what} are not in {where}:{Environment.NewLine}" +
            string.Join(Environment.NewLine, missing.Concat(unsigned)) + Environment.NewLine +
            "carry them in with --mirror DIR (same file names), or run once without --offline");
    }

    private bool InMirrorFolder(string fileName) => _mirrorDirs.Any(d => File.Exists(Path.Combine(d, fileName)));

    private static string Label(LockArtifact artifact) => $"{artifact.Name} {artifact.Version} {artifact.Arch}";

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
        var actual = await Checksums.CopyAndHashAsync(source, temp, artifact.Algorithm, progress, cancellationToken).ConfigureAwait(false);
        if (actual != artifact.Checksum)
            throw Mismatch(artifact, source, actual, _cache.Quarantine(temp, artifact, actual));
        progress.Complete($"verified {artifact.Algorithm}");
        return _cache.Admit(temp, artifact);
    }

    /// <summary>
    /// Checks the artifact's OpenPGP detached signature over its verified cache entry and returns the signer. The
    /// signature comes, in order, from the cache (re-verified on every build), <c>--mirror DIR</c> folders and
    /// <c>--mirror URL</c> base URLs (by its file name, like artifacts), then its own URL. One that does not verify
    /// fails the build (<see cref="IntegrityException"/>) and is quarantined, never cached.
    /// </summary>
    public async Task<OpenPgpSigner> VerifySignatureAsync(LockArtifact artifact, string entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        var signature = artifact.Signature ?? throw new ArgumentException($"{Label(artifact)} names no signature", nameof(artifact));
        var keys = LoadKeys(artifact, signature);
        var cached = _cache.SignaturePath(artifact);
        IntegrityException? cachedFailure = null;
        if (File.Exists(cached))
        {
            try
            {
                return await CheckSignatureAsync(artifact, entry, cached, keys, $"the cache ({cached})", cancellationToken).ConfigureAwait(false);
            }
            catch (IntegrityException e)
            {
                // It verified when it was cached: the lock's keys changed since, or the file did. Fetched again unless offline.
                var moved = _cache.QuarantineSignature(cached, artifact);
                _reporter.Warning($"{Label(artifact)}: the cached signature no longer verifies; moved to {moved}");
                cachedFailure = e;
            }
        }

        foreach (var dir in _mirrorDirs)
        {
            var candidate = Path.Combine(dir, signature.FileName);
            if (!File.Exists(candidate))
                continue;
            var copy = _cache.NewTempPath(signature.FileName);
            File.Copy(candidate, copy);
            return await AdmitSignatureAsync(artifact, entry, copy, keys, candidate, cancellationToken).ConfigureAwait(false);
        }

        if (_offline)
            throw cachedFailure ?? (Exception)new UserInputException(
                $"--offline: the signature of {Label(artifact)} ({signature.FileName}) is neither in the cache {_cache.Root} nor in a mirror folder");

        var failures = new List<string>();
        foreach (var url in _mirrorUrls.Select(m => new Uri(m, Uri.EscapeDataString(signature.FileName))).Append(new Uri(signature.Url)))
        {
            var temp = _cache.NewTempPath(signature.FileName);
            try
            {
                using (var progress = _reporter.Begin($"{Label(artifact)} signature"))
                {
                    await _downloader.Value.DownloadAsync(url, temp, "sha256", progress, cancellationToken).ConfigureAwait(false);
                    progress.Complete();
                }
                return await AdmitSignatureAsync(artifact, entry, temp, keys, url.ToString(), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpStatusException or HttpRequestException or IOException or TimeoutException)
            {
                failures.Add($"  {url}: {e.Message}");
                _reporter.Warning($"{Label(artifact)} signature: {url} failed: {e.Message}");
            }
            finally
            {
                File.Delete(temp);
            }
        }
        throw new FetchException($"{Label(artifact)}: could not download its signature from any source (after {_settings.Retries} retries each):{Environment.NewLine}" +
                                 string.Join(Environment.NewLine, failures));
    }

    /// <summary>The lock's key files (validated when the lock was loaded; read again here, where they are used).</summary>
    private static List<OpenPgpKeyFile> LoadKeys(LockArtifact artifact, LockSignature signature) =>
        signature.Keys.Select(fingerprint =>
        {
            var path = signature.KeyFile(fingerprint);
            try
            {
                var key = OpenPgpKeyFile.Load(path);
                return key.Fingerprint == fingerprint ? key
                    : throw new UserInputException($"{Label(artifact)}: {path} holds key {key.Fingerprint}, not the key its name says");
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                throw new UserInputException($"{Label(artifact)}: key file {path}: {e.Message}");
            }
        }).ToList();

    /// <summary>Verifies a signature fetched into the cache's partial folder, then keeps it (or quarantines it).</summary>
    private async Task<OpenPgpSigner> AdmitSignatureAsync(LockArtifact artifact, string entry, string temp, List<OpenPgpKeyFile> keys, string source, CancellationToken cancellationToken)
    {
        OpenPgpSigner signer;
        try
        {
            signer = await CheckSignatureAsync(artifact, entry, temp, keys, source, cancellationToken).ConfigureAwait(false);
        }
        catch (IntegrityException e)
        {
            var moved = _cache.QuarantineSignature(temp, artifact);
            throw new IntegrityException($"{e.Message}{Environment.NewLine}  the signature was moved to {moved}; nothing was added to the cache");
        }
        var cached = _cache.SignaturePath(artifact);
        Directory.CreateDirectory(Path.GetDirectoryName(cached)!);
        File.Move(temp, cached, overwrite: true);
        return signer;
    }

    private static async Task<OpenPgpSigner> CheckSignatureAsync(LockArtifact artifact, string entry, string signatureFile, List<OpenPgpKeyFile> keys, string source, CancellationToken cancellationToken)
    {
        try
        {
            var length = new FileInfo(signatureFile).Length;
            if (length > OpenPgp.MaxSignatureBytes)
                throw new OpenPgpSignatureException($"{length} bytes is too large for a detached signature");
            var bytes = await File.ReadAllBytesAsync(signatureFile, cancellationToken).ConfigureAwait(false);
            return await OpenPgp.VerifyAsync(entry, bytes, keys, cancellationToken).ConfigureAwait(false);
        }
        catch (OpenPgpSignatureException e)
        {
            throw new IntegrityException($"{Label(artifact)}: the OpenPGP signature {artifact.Signature!.Url} does not verify (read from {source}):{Environment.NewLine}" +
                                         $"  {e.Message}");
        }
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
