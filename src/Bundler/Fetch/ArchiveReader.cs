using System.Formats.Tar;
using System.IO.Compression;
using SharpCompress.Archives;
using SharpCompress.Compressors.BZip2;
using SharpCompress.Compressors.Xz;
using SharpCompress.Crypto;
using SharpCompress.Readers;
using ZipFile = SharpCompress.Archives.Zip.ZipArchive;
using ZstdDecompressionStream = SharpCompress.Compressors.ZStandard.DecompressionStream;

namespace Bundler.Fetch;

/// <summary>The archive formats a lock entry may unpack (SPEC §5), told apart by their first bytes, not the URL.</summary>
internal enum ArchiveFormat
{
    Tar,
    TarGz,
    TarXz,
    TarZst,
    TarBz2,
    Zip,
}

/// <summary>What an entry is, as far as unpacking cares.</summary>
internal enum ArchiveEntryKind
{
    File,
    Directory,
    SymbolicLink,
    HardLink,
    /// <summary>Device, FIFO or socket: never unpacked.</summary>
    Special,
    /// <summary>An entry type kbundle cannot unpack faithfully (sparse, multi-volume, ...).</summary>
    Unsupported,
    /// <summary>Archive metadata that is not a file (pax global header, volume label): skipped.</summary>
    Metadata,
}

/// <summary>
/// One entry as the archive states it, before any check. <see cref="CopyTo"/> is only valid until the reader
/// moves to the next entry.
/// </summary>
internal sealed record ArchiveEntry(string Name, ArchiveEntryKind Kind, string TypeName, string LinkTarget, UnixFileMode Mode, Action<Stream> CopyTo);

/// <summary>
/// Reads the entries of an upstream archive in one shape whatever its format, so that one set of checks
/// (<see cref="SafeUnpacker"/>) guards them all. SharpCompress decompresses xz, zstd and bzip2 and reads zip;
/// tar entries are read by System.Formats.Tar, because SharpCompress's tar reader does not expose the entry
/// type (a device, FIFO or hard link looks like an empty file or a symlink to it) and the checks need it.
/// gzip stays with the BCL's zlib (a measured 2.5-4.7x faster than SharpCompress's managed inflate).
/// A corrupt or truncated archive becomes an <see cref="IntegrityException"/> naming it, never a library exception.
/// </summary>
internal sealed class ArchiveReader : IDisposable
{
    private const int BlockSize = 512;
    private const int MaxLinkTarget = 4096;
    private readonly string _path;
    private readonly string _archiveName;
    private Stream? _stream;
    private TarReader? _tar;
    private IArchive? _zip;

    private ArchiveReader(string path, string archiveName, ArchiveFormat format)
    {
        _path = path;
        _archiveName = archiveName;
        Format = format;
    }

    public ArchiveFormat Format { get; }

    /// <summary>Opens <paramref name="path"/>; <paramref name="archiveName"/> is how errors name it.</summary>
    public static ArchiveReader Open(string path, string archiveName)
    {
        var format = Detect(path) ?? throw new UserInputException(
            $"{archiveName}: not an archive kbundle can unpack (its first bytes are none of tar, gzip, xz, zstd, bzip2 or zip); " +
            $"{Allowed}, and a single binary takes install: in the lock instead of files:");
        var reader = new ArchiveReader(path, archiveName, format);
        if (format is not (ArchiveFormat.Tar or ArchiveFormat.Zip))
            reader.CheckHoldsTar();
        return reader;
    }

    public const string Allowed = "archives may be .tar.gz/.tgz, .tar.xz, .tar.zst, .tar.bz2, .zip or plain .tar";

    public static string Describe(ArchiveFormat format) => format switch
    {
        ArchiveFormat.Tar => "tar",
        ArchiveFormat.TarGz => "tar.gz",
        ArchiveFormat.TarXz => "tar.xz",
        ArchiveFormat.TarZst => "tar.zst",
        ArchiveFormat.TarBz2 => "tar.bz2",
        _ => "zip",
    };

    private static string Compression(ArchiveFormat format) => format switch
    {
        ArchiveFormat.TarGz => "gzip",
        ArchiveFormat.TarXz => "xz",
        ArchiveFormat.TarZst => "zstd",
        _ => "bzip2",
    };

    /// <summary>The format from the file's magic bytes; null when it is none we read.</summary>
    public static ArchiveFormat? Detect(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = File.OpenRead(path);
        var head = new byte[BlockSize];
        var read = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        ReadOnlySpan<byte> magic = head.AsSpan(0, read);
        if (magic.StartsWith((ReadOnlySpan<byte>)[0x1f, 0x8b]))
            return ArchiveFormat.TarGz;
        if (magic.StartsWith((ReadOnlySpan<byte>)[0xfd, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0x00]))
            return ArchiveFormat.TarXz;
        if (magic.StartsWith((ReadOnlySpan<byte>)[0x28, 0xb5, 0x2f, 0xfd]))
            return ArchiveFormat.TarZst;
        if (magic.StartsWith("BZh"u8))
            return ArchiveFormat.TarBz2;
        // A zip starts with a local file header, or is empty (end of central directory only).
        if (magic.StartsWith("PK\x03\x04"u8) || magic.StartsWith("PK\x05\x06"u8))
            return ArchiveFormat.Zip;
        return IsTarHeader(magic) ? ArchiveFormat.Tar : null;
    }

    /// <summary>
    /// True for a tar header block (its checksum matches; ustar, gnu and old v7 headers alike) and for the
    /// all-zero block that ends an empty archive.
    /// </summary>
    internal static bool IsTarHeader(ReadOnlySpan<byte> block)
    {
        if (block.Length < BlockSize)
            return false;
        block = block[..BlockSize];
        if (!block.ContainsAnyExcept((byte)0))
            return true;
        var field = block.Slice(148, 8);
        long stored = 0;
        var digits = 0;
        foreach (var b in field)
        {
            if (b is >= (byte)'0' and <= (byte)'7')
            {
                stored = stored * 8 + (b - '0');
                digits++;
            }
            else if (digits > 0 || b is not (0 or (byte)' '))
            {
                break;
            }
        }
        if (digits == 0)
            return false;
        // Some old writers summed signed bytes; both are accepted, as GNU tar does.
        long unsigned = 0, signed = 0;
        for (var i = 0; i < BlockSize; i++)
        {
            var b = i is >= 148 and < 156 ? (byte)' ' : block[i];
            unsigned += b;
            signed += (sbyte)b;
        }
        return stored == unsigned || stored == signed;
    }

    /// <summary>Every entry in archive order; hostile ones included (the caller decides).</summary>
    public IEnumerable<ArchiveEntry> Entries() => Format == ArchiveFormat.Zip ? ZipEntries() : TarEntries();

    private IEnumerable<ArchiveEntry> TarEntries()
    {
        _stream = OpenDecompressed();
        _tar = new TarReader(_stream, leaveOpen: true);
        while (Guarded(() => _tar.GetNextEntry()) is { } entry)
        {
            var (kind, typeName) = entry.EntryType switch
            {
                TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile => (ArchiveEntryKind.File, "file"),
                TarEntryType.Directory => (ArchiveEntryKind.Directory, "folder"),
                TarEntryType.SymbolicLink => (ArchiveEntryKind.SymbolicLink, "symbolic link"),
                TarEntryType.HardLink => (ArchiveEntryKind.HardLink, "hard link"),
                TarEntryType.CharacterDevice or TarEntryType.BlockDevice or TarEntryType.Fifo => (ArchiveEntryKind.Special, entry.EntryType.ToString()),
                TarEntryType.GlobalExtendedAttributes or TarEntryType.TapeVolume => (ArchiveEntryKind.Metadata, entry.EntryType.ToString()),
                _ => (ArchiveEntryKind.Unsupported, entry.EntryType.ToString()),
            };
            var data = entry.DataStream;
            yield return new ArchiveEntry(entry.Name, kind, typeName, entry.LinkName ?? "", entry.Mode,
                destination => { if (data is not null) Copy(data, destination); });
        }
        // Read to the end of the compressed stream: only there do gzip, xz and zstd check their trailers.
        var rest = new byte[1 << 16];
        while (Guarded(() => _stream.Read(rest, 0, rest.Length)) > 0)
        {
        }
    }

    private IEnumerable<ArchiveEntry> ZipEntries()
    {
        _zip = Guarded(() => ZipFile.OpenArchive(_path, new ReaderOptions()));
        using var entries = Guarded(() => _zip.Entries.GetEnumerator());
        while (Guarded(entries.MoveNext))
        {
            var entry = entries.Current;
            var name = entry.Key ?? "";
            if (entry.IsEncrypted)
            {
                yield return new ArchiveEntry(name, ArchiveEntryKind.Unsupported, "encrypted file", "", 0, _ => { });
                continue;
            }
            // Unix zips (Info-ZIP, Go, .NET) keep st_mode in the high 16 bits of the external attributes.
            var unix = (entry.Attrib ?? 0) >> 16 & 0xffff;
            var mode = (UnixFileMode)(unix & 0xfff);
            var (kind, typeName) = (unix & 0xf000) switch
            {
                0 when entry.IsDirectory || name.EndsWith('/') => (ArchiveEntryKind.Directory, "folder"),
                0 or 0x8000 => (ArchiveEntryKind.File, "file"),
                0x4000 => (ArchiveEntryKind.Directory, "folder"),
                0xa000 => (ArchiveEntryKind.SymbolicLink, "symbolic link"),
                0x2000 => (ArchiveEntryKind.Special, nameof(TarEntryType.CharacterDevice)),
                0x6000 => (ArchiveEntryKind.Special, nameof(TarEntryType.BlockDevice)),
                0x1000 => (ArchiveEntryKind.Special, nameof(TarEntryType.Fifo)),
                0xc000 => (ArchiveEntryKind.Special, "Socket"),
                _ => (ArchiveEntryKind.Unsupported, $"mode 0{unix:o}"),
            };
            if (unix == 0)
                mode = kind == ArchiveEntryKind.Directory ? (UnixFileMode)0b111_101_101 : (UnixFileMode)0b110_100_100;
            void CopyTo(Stream destination) => CopyZipEntry(entry, name, destination);
            var target = "";
            if (kind == ArchiveEntryKind.SymbolicLink)
            {
                // A zip symlink stores its target as the entry's data.
                using var buffer = new MemoryStream();
                CopyTo(buffer);
                if (buffer.Length > MaxLinkTarget)
                    throw Corrupt($"entry '{name}' is a link with a {buffer.Length}-byte target");
                target = System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
            }
            yield return new ArchiveEntry(name, kind, typeName, target, mode, CopyTo);
        }
    }

    private void CopyZipEntry(IArchiveEntry entry, string name, Stream destination)
    {
        using var data = Guarded(entry.OpenEntryStream);
        // SharpCompress does not check a zip entry's CRC-32; a flipped byte must not unpack silently.
        var crc = new Crc32Stream(destination);
        Copy(data, crc);
        if (crc.Crc != (uint)entry.Crc)
            throw Corrupt($"entry '{name}' fails its CRC-32 check (0x{crc.Crc:x8}, the archive says 0x{(uint)entry.Crc:x8})");
    }

    private void Copy(Stream source, Stream destination)
    {
        var buffer = new byte[1 << 17];
        int read;
        while ((read = Guarded(() => source.Read(buffer, 0, buffer.Length))) > 0)
            destination.Write(buffer, 0, read);
    }

    /// <summary>A gzip of a single binary is a user's mistake (files: instead of install:), not a corrupt archive.</summary>
    private void CheckHoldsTar()
    {
        using var stream = OpenDecompressed();
        var head = new byte[BlockSize];
        var read = Guarded(() => stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false));
        if (IsTarHeader(head.AsSpan(0, read)))
            return;
        // bzip2 checks a block only at its end: what looks like no tar may be a damaged one.
        while (Guarded(() => stream.Read(head, 0, head.Length)) > 0)
        {
        }
        throw new UserInputException(
            $"{_archiveName}: is {Compression(Format)}-compressed but holds no tar archive; {Allowed}, " +
            "and a single binary takes install: in the lock instead of files:");
    }

    private Stream OpenDecompressed()
    {
        var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            return Guarded<Stream>(() => Format switch
            {
                ArchiveFormat.TarGz => new GZipStream(file, CompressionMode.Decompress),
                ArchiveFormat.TarXz => new XZStream(file),
                ArchiveFormat.TarZst => new ZstdDecompressionStream(file, 1 << 17, checkEndOfStream: true, leaveOpen: false),
                ArchiveFormat.TarBz2 => BZip2Stream.Create(file, SharpCompress.Compressors.CompressionMode.Decompress,
                    decompressConcatenated: true, leaveOpen: false, tolerateTruncatedStream: false),
                _ => file,
            });
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs one read of the archive. Whatever a decompressor or reader throws on bad input (their exception
    /// types differ per library and format) becomes one error naming the archive.
    /// </summary>
    private T Guarded<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is not (OperationCanceledException or OutOfMemoryException or IntegrityException or UserInputException))
        {
            throw Corrupt($"{e.GetType().Name}: {e.Message}");
        }
    }

    private IntegrityException Corrupt(string detail) =>
        new($"{_archiveName}: the {Describe(Format)} archive is corrupt or truncated ({detail}); it is refused");

    public void Dispose()
    {
        _tar?.Dispose();
        _stream?.Dispose();
        _zip?.Dispose();
    }
}
