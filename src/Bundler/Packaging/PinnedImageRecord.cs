using Bundler.Configuration;
using Bundler.Fetch.Images;

namespace Bundler.Packaging;

/// <summary>
/// One pinned image as the manifest records it (SPEC §7): its name in the lock, the reference it is known by, the pinned
/// digest (multi-arch index or single-platform manifest), and per arch of the site the platform manifest's digest and the
/// bytes that platform ships (manifest, config, layers); what the lock says of it for auditors (licence, digest source).
/// </summary>
public sealed record PinnedImageRecord(string Name, string Ref, string Digest, IReadOnlyList<ImagePlatformRecord> Platforms)
{
    public string? License { get; init; }

    public string? ChecksumSource { get; init; }

    public static PinnedImageRecord Of(FetchedImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var platforms = image.Platforms.OrderBy(p => p.Key)
            .Select(p => new ImagePlatformRecord(Names.Of(p.Key), p.Value.Manifest.Digest, p.Value.Size)).ToList();
        return new PinnedImageRecord(image.Pin.Name, image.Pin.Ref, image.Pin.Digest, platforms)
        {
            License = image.Pin.License,
            ChecksumSource = image.Pin.ChecksumSource,
        };
    }
}

/// <summary>One platform of an image: its arch, the digest of its manifest, and its size (manifest, config and layers).</summary>
public sealed record ImagePlatformRecord(string Arch, string Digest, long Size);
