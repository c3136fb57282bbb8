using Bundler.Layout;
using System.Text;

namespace Bundler.Packaging;

/// <summary>A binary's gzip member on disk (named by its cache key), and the binary's own size and hash (for the manifest).</summary>
public sealed record SharedMember(string Key, string Path, long ContentSize, string ContentSha256);

/// <summary>
/// cache/packaging/: &lt;key&gt;.gz, one gzip member per (node path, mode, mtime, content hash); hashes/, a binary's
/// sha256 by (path, size, mtime) so a warm rebuild does not re-read unchanged binaries; payloads/, a payload's size
/// and sha256 by the keys of its parts; runs/, what each .run was when written (its <see cref="FileIdentity"/> and sha256),
/// so an unchanged .run is neither rewritten nor re-read. A lost or stale record only costs time: keys name content.
/// </summary>
internal sealed class MemberCache(string directory)
{
    private int _reused;
    private int _compressed;

    public int Reused => _reused;
    public int Compressed => _compressed;

    private string Record(string kind, string key) => System.IO.Path.Combine(directory, kind, key);

    private static string? ReadRecord(string path) => File.Exists(path) ? File.ReadAllText(path) : null;

    public SharedMember Get(string nodePath, UnixFileMode mode, string source, DateTimeOffset mtime)
    {
        var info = new FileInfo(source);
        var size = info.Length;
        var statKey = PayloadWriter.Sha256Hex(Encoding.UTF8.GetBytes($"{source}\n{size}\n{info.LastWriteTimeUtc.Ticks}\n"));
        var sha = ReadRecord(Record("hashes", statKey))?.Trim();
        if (sha is not { Length: 64 })
        {
            sha = PayloadWriter.Sha256Hex(source);
            AtomicFile.WriteAllText(Record("hashes", statKey), sha + "\n");
        }
        var key = PayloadWriter.Sha256Hex(Encoding.UTF8.GetBytes($"kbundle-member-v1\n{nodePath}\n{BundleLayout.Octal(mode)}\n{mtime.ToUnixTimeSeconds()}\n{sha}\n"));
        var path = System.IO.Path.Combine(directory, key + ".gz");
        if (File.Exists(path))
        {
            Interlocked.Increment(ref _reused);
            return new SharedMember(key, path, size, sha);
        }
        AtomicFile.Write(path, stream => PayloadWriter.WriteMember(stream, [new PayloadEntry(BundleLayout.EntryName(nodePath), mode, SourceFile: source)], mtime));
        // The source could have changed while we read it; the member must hold the bytes the key names.
        var after = new FileInfo(source);
        if (after.Length != size || after.LastWriteTimeUtc != info.LastWriteTimeUtc)
        {
            File.Delete(path);
            throw new IntegrityException($"{source} changed while it was being packaged");
        }
        Interlocked.Increment(ref _compressed);
        return new SharedMember(key, path, size, sha);
    }

    /// <summary>
    /// The member that carries an image archive (images-&lt;arch&gt;.tar) at <paramref name="nodePath"/>: the archive is
    /// written straight into a gzip member of stored blocks (layers are compressed already; recompressing them would cost
    /// CPU for nothing), once per content key. Its size and sha256 are kept in hashes/ beside the other records, since
    /// they cannot be known without writing it.
    /// </summary>
    public async Task<SharedMember> GetImagesAsync(string nodePath, UnixFileMode mode, ImageArchive archive, DateTimeOffset mtime, CancellationToken cancellationToken)
    {
        var key = PayloadWriter.Sha256Hex(Encoding.UTF8.GetBytes(
            $"kbundle-images-member-v1\n{nodePath}\n{BundleLayout.Octal(mode)}\n{mtime.ToUnixTimeSeconds()}\n{archive.Key}\n"));
        var path = System.IO.Path.Combine(directory, key + ".gz");
        var record = ReadRecord(Record("hashes", key))?.Split(' ', StringSplitOptions.TrimEntries);
        if (File.Exists(path) && record is [var sizeText, { Length: 64 } recorded]
            && long.TryParse(sizeText, System.Globalization.CultureInfo.InvariantCulture, out var recordedSize))
        {
            Interlocked.Increment(ref _reused);
            return new SharedMember(key, path, recordedSize, recorded);
        }
        var size = archive.Size;
        string sha = "";
        await AtomicFile.WriteAsync(path, async (stream, ct) =>
            sha = await PayloadWriter.WriteStoredMemberAsync(stream, BundleLayout.EntryName(nodePath), mode, size, mtime,
                (content, token) => ImageArchiveWriter.WriteAsync(content, archive.Images, archive.Arch, mtime, token), ct).ConfigureAwait(false),
            cancellationToken: cancellationToken).ConfigureAwait(false);
        AtomicFile.WriteAllText(Record("hashes", key), FormattableString.Invariant($"{size} {sha}\n"));
        Interlocked.Increment(ref _compressed);
        return new SharedMember(key, path, size, sha);
    }

    public (long Size, string Sha256) Payload(string key, Func<(long Size, string Sha256)> compute)
    {
        var record = ReadRecord(Record("payloads", key))?.Split(' ', StringSplitOptions.TrimEntries);
        if (record is [var sizeText, { Length: 64 } sha] && long.TryParse(sizeText, System.Globalization.CultureInfo.InvariantCulture, out var size))
            return (size, sha);
        var computed = compute();
        AtomicFile.WriteAllText(Record("payloads", key), FormattableString.Invariant($"{computed.Size} {computed.Sha256}\n"));
        return computed;
    }

    /// <summary>
    /// The sha256 of <paramref name="runPath"/> if it is the file we wrote for this header, untouched since; else null.
    /// Untouched means the same inode, size, mtime and ctime (<see cref="FileIdentity"/>: bytes changed in place show even
    /// with the mtime set back); where there is no such identity, the file is hashed again.
    /// </summary>
    public string? UnchangedRun(string runPath, byte[] header, long size)
    {
        var file = new FileInfo(runPath);
        if (!file.Exists || file.Length != size)
            return null;
        var record = ReadRecord(Record("runs", PayloadWriter.Sha256Hex(header)))?.Split(' ', StringSplitOptions.TrimEntries);
        if (record is not [var recordedPath, var identity, { Length: 64 } sha] || recordedPath != Convert.ToHexStringLower(Encoding.UTF8.GetBytes(runPath)))
            return null;
        var now = FileIdentity.Of(runPath);
        if (now is null ? PayloadWriter.Sha256Hex(runPath) != sha : now.ToString() != identity)
            return null;
        var start = new byte[header.Length];
        using (var stream = file.OpenRead())
            stream.ReadExactly(start);
        return start.AsSpan().SequenceEqual(header) ? sha : null;
    }

    public void RecordRun(string runPath, byte[] header, string sha) =>
        AtomicFile.WriteAllText(Record("runs", PayloadWriter.Sha256Hex(header)),
            $"{Convert.ToHexStringLower(Encoding.UTF8.GetBytes(runPath))} {FileIdentity.Of(runPath)?.ToString() ?? "-"} {sha}\n");
}
