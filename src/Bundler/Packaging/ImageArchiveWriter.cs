using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Bundler.Configuration;
using Bundler.Fetch.Images;

namespace Bundler.Packaging;

/// <summary>
/// Writes <c>images-&lt;arch&gt;.tar</c> (SPEC §7): one uncompressed OCI image layout (<c>oci-layout</c>,
/// <c>index.json</c>, <c>blobs/sha256/</c>) holding, per image, the pinned index blob as it was pinned (so
/// <c>ref@digest</c> resolves to the pinned digest on the node) and only this arch's manifest, config and layers.
/// Layers are copied byte for byte, never recompressed; every blob is re-hashed while it is copied.
/// Deterministic: sorted entries, one mtime, uid/gid 0, modes 0644/0755, ustar headers.
/// <para>
/// <c>index.json</c> names each image twice, as containerd's exporter would (core/images/archive/exporter.go,
/// <c>addNameAnnotation</c>): <c>io.containerd.image.name</c> = the full name, which <c>ctr images import</c>
/// uses as is (client/import.go <c>imageName</c>), and <c>org.opencontainers.image.ref.name</c> = the tag for a
/// tagged name and the full name for a digest name (reference.go <c>ociReferenceName</c>). Import it with
/// <c>ctr -n k8s.io images import --platform linux/&lt;arch&gt;</c>: the other arches' manifests are listed in the
/// pinned index but absent, which a platform-filtered import skips.
/// </para>
/// </summary>
public static class ImageArchiveWriter
{
    public const string ImageNameAnnotation = "io.containerd.image.name";
    public const string RefNameAnnotation = "org.opencontainers.image.ref.name";
    private const UnixFileMode FileMode = (UnixFileMode)0b110_100_100;
    private const UnixFileMode DirectoryMode = (UnixFileMode)0b111_101_101;
    private const int Block = 512;

    public static string FileName(Arch arch) => $"images-{Names.Of(arch)}.tar";

    /// <summary>One name in <c>index.json</c>: the image it names and the blob it points at.</summary>
    public sealed record ImageName(string Name, string RefName, OciBlob Target, OciPlatform? Platform);

    /// <summary>The names <c>index.json</c> lists for <paramref name="arch"/>, sorted: <c>ref</c> (if tagged) and <c>name@digest</c> per image.</summary>
    public static IReadOnlyList<ImageName> NamesFor(IEnumerable<FetchedImage> images, Arch arch)
    {
        ArgumentNullException.ThrowIfNull(images);
        var names = new Dictionary<string, ImageName>(StringComparer.Ordinal);
        var owner = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var image in images)
        {
            var reference = image.Pin.Reference;
            // A single-platform pin carries its platform, so a platform-filtered import can still choose.
            var platform = image.IsIndex ? null : image.For(arch).Platform;
            var entries = new List<ImageName>();
            if (reference.TagName is { } tagged)
                entries.Add(new ImageName(tagged, reference.Tag!, image.Root, platform));
            var digested = reference.DigestName(image.Pin.Digest);
            entries.Add(new ImageName(digested, digested, image.Root, platform));
            foreach (var entry in entries)
            {
                if (names.TryGetValue(entry.Name, out var first) && first.Target.Digest != entry.Target.Digest)
                    throw new UserInputException($"images '{owner[entry.Name]}' and '{image.Pin.Name}' both name {entry.Name}, with different digests; allowed: one digest per reference");
                names[entry.Name] = entry;
                owner.TryAdd(entry.Name, image.Pin.Name);
            }
        }
        return names.Values.OrderBy(n => n.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>The blobs of <paramref name="arch"/>, one per digest, sorted by digest.</summary>
    public static IReadOnlyList<OciBlob> BlobsFor(IEnumerable<FetchedImage> images, Arch arch)
    {
        ArgumentNullException.ThrowIfNull(images);
        return images.SelectMany(i => i.BlobsFor(arch)).DistinctBy(b => b.Digest).OrderBy(b => b.Digest, StringComparer.Ordinal).ToList();
    }

    public static byte[] IndexJson(IEnumerable<FetchedImage> images, Arch arch)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", 2);
            json.WriteString("mediaType", MediaTypes.OciIndex);
            json.WriteStartArray("manifests");
            foreach (var name in NamesFor(images, arch))
            {
                json.WriteStartObject();
                json.WriteString("mediaType", name.Target.MediaType);
                json.WriteString("digest", name.Target.Digest);
                json.WriteNumber("size", name.Target.Size);
                json.WriteStartObject("annotations");
                json.WriteString(ImageNameAnnotation, name.Name);
                json.WriteString(RefNameAnnotation, name.RefName);
                json.WriteEndObject();
                if (name.Platform is { } platform)
                {
                    json.WriteStartObject("platform");
                    json.WriteString("architecture", platform.Architecture);
                    json.WriteString("os", platform.Os);
                    if (platform.Variant is not null)
                        json.WriteString("variant", platform.Variant);
                    json.WriteEndObject();
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static readonly byte[] OciLayout = Encoding.UTF8.GetBytes("{\"imageLayoutVersion\":\"1.0.0\"}");

    /// <summary>The exact size of the archive <see cref="WriteAsync"/> writes, without reading a blob.</summary>
    public static long SizeOf(IEnumerable<FetchedImage> images, Arch arch)
    {
        var list = images.ToList();
        return Entries(list, arch).Sum(e => Block + Padded(e.Size)) + 2 * Block;
    }

    /// <summary>Writes the archive for <paramref name="arch"/> to <paramref name="destination"/> (left open).</summary>
    public static async Task WriteAsync(Stream destination, IEnumerable<FetchedImage> images, Arch arch, DateTimeOffset? mtime = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(images);
        var list = images.ToList();
        var time = mtime ?? DateTimeOffset.UnixEpoch;
        await using var tar = new TarWriter(destination, TarEntryFormat.Ustar, leaveOpen: true);
        foreach (var entry in Entries(list, arch))
        {
            var tarEntry = new UstarTarEntry(entry.Blob is null && entry.Content is null ? TarEntryType.Directory : TarEntryType.RegularFile, entry.Name)
            {
                ModificationTime = time,
                Mode = entry.Blob is null && entry.Content is null ? DirectoryMode : FileMode,
                Uid = 0,
                Gid = 0,
                UserName = "root",
                GroupName = "root",
            };
            if (entry.Content is not null)
            {
                tarEntry.DataStream = new MemoryStream(entry.Content, writable: false);
                await tar.WriteEntryAsync(tarEntry, cancellationToken).ConfigureAwait(false);
                continue;
            }
            if (entry.Blob is not { } blob)
            {
                await tar.WriteEntryAsync(tarEntry, cancellationToken).ConfigureAwait(false);
                continue;
            }
            await using var file = new FileStream(blob.LocalPath, System.IO.FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan | FileOptions.Asynchronous);
            if (file.Length != blob.Size)
                throw new IntegrityException($"{blob.LocalPath}: is {file.Length} bytes, but {blob.Digest} is {blob.Size}; the cache changed after it was verified");
            using var hashing = new HashingReadStream(file);
            tarEntry.DataStream = hashing;
            await tar.WriteEntryAsync(tarEntry, cancellationToken).ConfigureAwait(false);
            var actual = "sha256:" + hashing.Hex();
            if (actual != blob.Digest)
                throw new IntegrityException($"{blob.LocalPath}: hashes to {actual}, but must be {blob.Digest}; the cache changed after it was verified");
        }
    }

    private sealed record Entry(string Name, long Size, OciBlob? Blob = null, byte[]? Content = null);

    private static IEnumerable<Entry> Entries(IReadOnlyList<FetchedImage> images, Arch arch)
    {
        var index = IndexJson(images, arch);
        var entries = new List<Entry>
        {
            new("blobs/", 0),
            new("blobs/sha256/", 0),
            new("index.json", index.Length, Content: index),
            new("oci-layout", OciLayout.Length, Content: OciLayout),
        };
        entries.AddRange(BlobsFor(images, arch).Select(b => new Entry($"blobs/sha256/{b.Digest["sha256:".Length..]}", b.Size, Blob: b)));
        return entries.OrderBy(e => e.Name, StringComparer.Ordinal);
    }

    private static long Padded(long size) => (size + Block - 1) / Block * Block;

    /// <summary>Hashes what TarWriter reads, so a blob is verified by the same read that copies it.</summary>
    private sealed class HashingReadStream(FileStream inner) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public string Hex() => Convert.ToHexStringLower(_hash.GetHashAndReset());

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var read = inner.Read(buffer);
            _hash.AppendData(buffer[..read]);
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            _hash.AppendData(buffer.Span[..read]);
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                _hash.Dispose();
            base.Dispose(disposing);
        }
    }
}
