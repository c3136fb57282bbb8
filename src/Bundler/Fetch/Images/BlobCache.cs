namespace Bundler.Fetch.Images;

/// <summary>
/// Image blobs (manifests, indexes, configs, layers) by digest: <c>&lt;cache&gt;/blobs/sha256/&lt;hex&gt;</c>.
/// A blob enters only by a rename from <c>partial/</c> after its digest and size were verified; a blob that
/// fails goes to <c>quarantine/</c>. A download in progress lives at <c>partial/blob-sha256-&lt;hex&gt;</c>
/// across runs, so a cut download resumes with a Range request.
/// </summary>
public sealed class BlobCache
{
    public BlobCache(string root)
    {
        ArgumentNullException.ThrowIfNull(root);
        Root = Path.GetFullPath(root);
    }

    public string Root { get; }
    public string BlobsDir => Path.Combine(Root, "blobs", "sha256");
    public string PartialDir => Path.Combine(Root, "partial");
    public string QuarantineDir => Path.Combine(Root, "quarantine");

    public string PathOf(string digest) => Path.Combine(BlobsDir, Hex(digest));

    public string PartialPath(string digest) => Path.Combine(PartialDir, $"blob-sha256-{Hex(digest)}");

    /// <summary>
    /// Re-verifies a cached blob (every build: a disk fault or a hand edit must not reach a node). Returns the
    /// path when it is good; moves it to quarantine and returns null with the actual digest when it is not.
    /// </summary>
    public async Task<(string? Path, string? Actual)> VerifyAsync(string digest, long? size, CancellationToken cancellationToken)
    {
        var path = PathOf(digest);
        if (!File.Exists(path))
            return (null, null);
        var actual = "sha256:" + await Checksums.OfFileAsync(path, "sha256", cancellationToken).ConfigureAwait(false);
        if (actual == digest && (size is null || new FileInfo(path).Length == size))
            return (path, null);
        Quarantine(path, digest, actual);
        return (null, actual);
    }

    /// <summary>Moves a verified file in (same file system: an atomic rename).</summary>
    public string Admit(string verifiedFile, string digest)
    {
        var entry = PathOf(digest);
        Directory.CreateDirectory(BlobsDir);
        File.Move(verifiedFile, entry, overwrite: true);
        return entry;
    }

    public string Quarantine(string file, string digest, string actual)
    {
        Directory.CreateDirectory(QuarantineDir);
        var target = Path.Combine(QuarantineDir, $"blob-sha256-{Hex(digest)[..16]}.actual-{Hex(actual)[..16]}.{DateTime.UtcNow:yyyyMMddHHmmssfff}");
        File.Move(file, target, overwrite: true);
        return target;
    }

    public string NewTempPath(string digest)
    {
        Directory.CreateDirectory(PartialDir);
        return Path.Combine(PartialDir, $".blob-{Hex(digest)[..16]}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}");
    }

    private static string Hex(string digest) =>
        digest.StartsWith("sha256:", StringComparison.Ordinal) ? digest["sha256:".Length..] : throw new ArgumentException($"not a sha256 digest: {digest}", nameof(digest));
}
