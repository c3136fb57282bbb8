using System.Text;
using Bundler.Configuration;
using Bundler.Fetch.Images;

namespace Bundler.Packaging;

/// <summary>
/// The image archive of one arch (<c>images-&lt;arch&gt;.tar</c>, SPEC §7): these verified images, written by
/// <see cref="ImageArchiveWriter"/>. Nodes of the same arch share one; its <see cref="Key"/> names its content without
/// reading a blob (the blobs are content-addressed and were verified by the fetch step).
/// </summary>
public sealed record ImageArchive(Arch Arch, IReadOnlyList<FetchedImage> Images)
{
    /// <summary>The archive's exact size in bytes.</summary>
    public long Size => ImageArchiveWriter.SizeOf(Images, Arch);

    private string? _key;

    /// <summary>The sha256 of what names the archive's bytes: its index.json and the digest of every blob, in archive order.</summary>
    public string Key => _key ??= ComputeKey();

    private string ComputeKey()
    {
        {
            var text = new StringBuilder("kbundle-image-archive-v1\n");
            text.Append(PayloadWriter.Sha256Hex(ImageArchiveWriter.IndexJson(Images, Arch))).Append('\n');
            foreach (var blob in ImageArchiveWriter.BlobsFor(Images, Arch))
                text.Append(blob.Digest).Append(' ').Append(blob.Size).Append('\n');
            return PayloadWriter.Sha256Hex(Encoding.UTF8.GetBytes(text.ToString()));
        }
    }

    /// <summary>One line per image for the manifest and inspect: ref, pinned index digest, this arch's manifest digest, size.</summary>
    public IReadOnlyList<ImageRecord> Records =>
        Images.Select(i => new ImageRecord(i.Pin.Name, i.Pin.Ref, i.Pin.Digest, Names.Of(Arch), i.For(Arch).Manifest.Digest,
            i.BlobsFor(Arch).Sum(b => b.Size))).ToList();

    public bool Equals(ImageArchive? other) => other is not null && other.Arch == Arch && other.Key == Key;

    public override int GetHashCode() => HashCode.Combine(Arch, Key);
}

/// <summary>
/// An image a node carries, as the manifest, node.json, <c>inspect</c> and <c>diff</c> show it: its lock name, ref, the
/// pinned (index) digest, the node's arch, that arch's manifest digest, and the bytes it adds to the archive.
/// </summary>
public sealed record ImageRecord(string Name, string Ref, string Digest, string Arch, string ManifestDigest, long Size);
