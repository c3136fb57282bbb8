using Bundler.Configuration;
using Bundler.Fetch.Images;

namespace Bundler.Fetch;

/// <summary>
/// An upstream artifact as the manifest records it (SPEC §2: name, version, arch, URL, checksum), the fingerprint
/// of the lock key whose OpenPGP signature verified it (null when the lock names no signature), and what the lock says of
/// it for auditors: its SPDX licence and where its checksum was read (each null when the lock does not say).
/// </summary>
public sealed record ArtifactRecord(string Name, string Version, string Arch, string Url, string Algorithm, string Checksum, string? SignedBy = null,
    string? License = null, string? ChecksumSource = null);

/// <summary>
/// What the fetch step hands on: every verified artifact, and for each (arch, node path) the local,
/// verified, unpacked file that becomes that binary on the node.
/// </summary>
public sealed record FetchResult(
    IReadOnlyList<ArtifactRecord> Artifacts,
    IReadOnlyDictionary<(Arch Arch, string NodePath), FetchedFile> Files)
{
    public FetchedFile FileFor(Arch arch, string nodePath) =>
        Files.TryGetValue((arch, nodePath), out var file)
            ? file
            : throw new UserInputException($"the lock provides no {nodePath} for {Names.Of(arch)}");

    /// <summary>Verified source archives (lock <c>kind: source</c>) by artifact name, for the steps that build them.</summary>
    public IReadOnlyDictionary<string, FetchedSource> Sources { get; init; } = new Dictionary<string, FetchedSource>();

    /// <summary>Verified images (lock <c>images:</c>), in lock order, with the blobs of the site's arches in the cache.</summary>
    public IReadOnlyList<FetchedImage> Images { get; init; } = [];

    public FetchedImage ImageFor(string name) =>
        Images.FirstOrDefault(i => i.Pin.Name == name) ?? throw new UserInputException($"the lock pins no image named '{name}'");

    /// <summary>The site's add-ons with a manifest (SPEC §7), in site order, each manifest's verified bytes.</summary>
    public IReadOnlyList<FetchedAddon> Addons { get; init; } = [];
}

/// <summary>An add-on's manifest, verified against the site's sha256 (fetched like an artifact, or read from its file).</summary>
public sealed record FetchedAddon(AddonSpec Addon, byte[] Content)
{
    /// <summary>For the manifest: the add-on, where its manifest came from, its sha256, and the images it names.</summary>
    public AddonRecord Record => new(Addon.Name, Addon.Manifest!.Source, Addon.Manifest.Sha256, Addon.Images.Select(i => i.Name).ToList());
}

/// <summary>An add-on as manifest.json records it: name, source (URL or file as the site names it), sha256, images.</summary>
public sealed record AddonRecord(string Name, string? Source, string? Sha256, IReadOnlyList<string> Images);

/// <summary>A verified source archive in the cache and the lock entry it satisfies.</summary>
public sealed record FetchedSource(LockArtifact Artifact, string ArchivePath);

/// <summary>A binary ready to ship: where it is on this machine and which artifact (component) it came from.</summary>
public sealed record FetchedFile(string LocalPath, string Component);
