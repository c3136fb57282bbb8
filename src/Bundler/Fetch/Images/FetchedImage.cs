using Bundler.Configuration;

namespace Bundler.Fetch.Images;

/// <summary>A verified blob in the cache: what it is, its digest and size, and where its bytes are on this machine.</summary>
public sealed record OciBlob(string MediaType, string Digest, long Size, string LocalPath);

/// <summary>One platform of a fetched image: its manifest, config and layers (in manifest order).</summary>
public sealed record FetchedPlatform(Arch Arch, OciPlatform Platform, OciBlob Manifest, OciBlob Config, IReadOnlyList<OciBlob> Layers)
{
    public IEnumerable<OciBlob> Blobs => [Manifest, Config, .. Layers];

    public long Size => Blobs.Sum(b => b.Size);
}

/// <summary>
/// A pinned image, fetched and verified: <see cref="Root"/> is the pinned blob itself (the multi-arch index, or
/// the single-platform manifest), so <c>ref@digest</c> on a node resolves to exactly the pinned digest;
/// <see cref="Platforms"/> holds only the arches that were asked for.
/// </summary>
public sealed record FetchedImage(LockImage Pin, OciBlob Root, IReadOnlyDictionary<Arch, FetchedPlatform> Platforms)
{
    public bool IsIndex => MediaTypes.IsIndex(Root.MediaType);

    public FetchedPlatform For(Arch arch) =>
        Platforms.TryGetValue(arch, out var platform)
            ? platform
            : throw new InvalidOperationException($"image {Pin.Name} was not fetched for {Names.Of(arch)}");

    /// <summary>Every blob a node of <paramref name="arch"/> needs: the pinned root, then that platform's manifest, config, layers.</summary>
    public IEnumerable<OciBlob> BlobsFor(Arch arch) =>
        IsIndex ? [Root, .. For(arch).Blobs] : For(arch).Blobs;
}
