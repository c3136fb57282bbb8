using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace Bundler.Packaging;

/// <summary>One tar entry as the payload holds it: a directory, or a file with its bytes in memory or on disk.</summary>
public sealed record PayloadEntry(string Name, UnixFileMode Mode, byte[]? Content = null, string? SourceFile = null)
{
    public bool IsDirectory => Content is null && SourceFile is null;
}

/// <summary>
/// Writes deterministic tar fragments as gzip members. Determinism lives here: sorted entries, one mtime,
/// uid/gid 0, explicit modes, no gzip timestamp (.NET writes MTIME 0). A fragment carries no end-of-archive
/// blocks; <see cref="EndMember"/> is the only part that does, so members concatenate into one valid tar.gz.
/// </summary>
public static class PayloadWriter
{
    /// <summary>zlib level 6 (gzip's and pigz's default), fixed: part of what makes rebuilds byte-identical.</summary>
    public const int Level = 6;

    public static void WriteMember(Stream destination, IEnumerable<PayloadEntry> entries, DateTimeOffset mtime)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(entries);
        using var gzip = new GZipStream(destination, new ZLibCompressionOptions { CompressionLevel = Level }, leaveOpen: true);
        var gate = new GateStream(gzip);
        using (var tar = new TarWriter(gate, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var entry in entries.OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                var type = entry.IsDirectory ? TarEntryType.Directory : TarEntryType.RegularFile;
                var tarEntry = new UstarTarEntry(type, entry.IsDirectory ? entry.Name + "/" : entry.Name)
                {
                    ModificationTime = mtime,
                    Mode = entry.Mode,
                    Uid = 0,
                    Gid = 0,
                    UserName = "root",
                    GroupName = "root",
                };
                Stream? data = entry.Content is not null ? new MemoryStream(entry.Content, writable: false)
                    : entry.SourceFile is not null ? File.OpenRead(entry.SourceFile) : null;
                using (data)
                {
                    if (data is not null)
                        tarEntry.DataStream = data;
                    tar.WriteEntry(tarEntry);
                }
            }
            // The end-of-archive blocks TarWriter writes on dispose are dropped: only the end member carries them.
            gate.Open = false;
        }
    }

    /// <summary>The last member of every payload: two zero blocks, gzipped.</summary>
    public static byte[] EndMember()
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
            gzip.Write(new byte[1024]);
        return buffer.ToArray();
    }

    public static string Sha256Hex(string file)
    {
        using var stream = File.OpenRead(file);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public static string Sha256Hex(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>Forwards writes until closed; lets us drop what TarWriter writes on dispose.</summary>
    private sealed class GateStream(Stream inner) : WriteOnlyStream(inner)
    {
        public bool Open { get; set; } = true;

        public override void Write(byte[] buffer, int offset, int count)
        {
            if (Open)
                Inner.Write(buffer, offset, count);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Open)
                Inner.Write(buffer);
        }
    }
}
