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

    /// <summary>
    /// Writes one file entry whose bytes come from <paramref name="content"/> (which must write exactly
    /// <paramref name="size"/> bytes) as a gzip member of stored blocks (<see cref="StoredGzipStream"/>): for content that
    /// is compressed already (image layers). Returns the sha256 of the content. Deterministic like <see cref="WriteMember"/>.
    /// </summary>
    public static async Task<string> WriteStoredMemberAsync(Stream destination, string name, UnixFileMode mode, long size, DateTimeOffset mtime,
        Func<Stream, CancellationToken, Task> content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(content);
        var gzip = new StoredGzipStream(destination);
        gzip.Write(UstarHeader(name, mode, size, mtime));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await content(new HashingWriter(gzip, hash), cancellationToken).ConfigureAwait(false);
        var written = gzip.Length64 - 512;
        if (written != size)
            throw new InvalidOperationException($"{name}: {written} bytes were written, {size} announced");
        gzip.Write(new byte[(512 - size % 512) % 512]);
        gzip.Finish();
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// A POSIX ustar header for a regular file, as <see cref="TarWriter"/> writes it for the other members (root:root,
    /// uid/gid 0); a size past ustar's 8 GiB is written in GNU's base-256 form, which GNU tar and bsdtar read.
    /// </summary>
    internal static byte[] UstarHeader(string name, UnixFileMode mode, long size, DateTimeOffset mtime)
    {
        var header = new byte[512];
        var nameBytes = System.Text.Encoding.ASCII.GetBytes(name);
        if (nameBytes.Length > 100)
            throw new ArgumentException($"{name}: longer than 100 bytes", nameof(name));
        nameBytes.CopyTo(header, 0);
        void Octal(int offset, int width, long value)
        {
            var digits = Convert.ToString(value, 8).PadLeft(width - 1, '0');
            System.Text.Encoding.ASCII.GetBytes(digits).CopyTo(header, offset);
            header[offset + width - 1] = 0;
        }
        Octal(100, 8, (int)mode);
        Octal(108, 8, 0);
        Octal(116, 8, 0);
        if (size <= 0x1_FFFF_FFFFL) // 8^11 - 1
            Octal(124, 12, size);
        else
        {
            header[124] = 0x80;
            for (var i = 0; i < 11; i++)
                header[135 - i] = (byte)(size >> (8 * i));
        }
        Octal(136, 12, mtime.ToUnixTimeSeconds());
        header[156] = (byte)'0';
        "ustar\0"u8.CopyTo(header.AsSpan(257));
        "00"u8.CopyTo(header.AsSpan(263));
        "root"u8.CopyTo(header.AsSpan(265));
        "root"u8.CopyTo(header.AsSpan(297));
        // The checksum is taken with its own field as eight spaces, and written as six octal digits, NUL, space.
        "        "u8.CopyTo(header.AsSpan(148));
        var sum = header.Sum(b => (int)b);
        System.Text.Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0')).CopyTo(header, 148);
        header[154] = 0;
        header[155] = (byte)' ';
        return header;
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
