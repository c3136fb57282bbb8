using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Layout;
using Bundler.Nginx;
using Bundler.Pki;
using Bundler.Render;

namespace Bundler.Packaging;

/// <summary>manifest.json (SPEC §2), field by field; docs/bundle-format.md explains each one.</summary>
public sealed record BundleManifest(
    int FormatVersion,
    string ToolVersion,
    SiteRecord Site,
    long SourceDateEpoch,
    IReadOnlyList<ArtifactRecord> Artifacts,
    IReadOnlyList<NginxProvenance>? KubeNginx,
    IReadOnlyList<NodeRecord> Nodes)
{
    /// <summary>2: <c>kubeNginx</c> is a list, one entry per arch (was one object).</summary>
    public const int CurrentFormat = 2;

    /// <summary>The build's serial (SPEC §8): grows only when a build's output changes; absent in manifests older than it.</summary>
    public long? BuildSerial { get; init; }

    /// <summary>When the build with this serial was first made (UTC, ISO 8601).</summary>
    public string? BuildTime { get; init; }

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        // The only enum in the manifest is kubeNginx's arch: written as the site file spells it (amd64, arm64).
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>Every pinned image the build fetched (SPEC §7), in lock order; null when the lock pins none.</summary>
    public IReadOnlyList<PinnedImageRecord>? Images { get; init; }

    /// <summary>The add-ons the first master applies, in order (SPEC §7): name, source, the manifest's sha256, the images it names.</summary>
    public IReadOnlyList<AddonRecord>? Addons { get; init; }

    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Json).Concat("\n"u8.ToArray()).ToArray();

    public static BundleManifest Parse(byte[] bytes, string source) =>
        JsonSerializer.Deserialize<BundleManifest>(bytes, Json) ?? throw new IntegrityException($"{source}: empty manifest");

    /// <summary>The manifest at <paramref name="path"/> (a previous build's), or null when there is none or it cannot be read.</summary>
    public static BundleManifest? ReadIfPresent(string path)
    {
        try
        {
            return File.Exists(path) ? Parse(File.ReadAllBytes(path), path) : null;
        }
        catch (Exception e) when (e is JsonException or IntegrityException or NotSupportedException)
        {
            return null;
        }
    }
}

public sealed record SiteRecord(string Name, string Kubernetes, string SourceSha256)
{
    /// <summary>
    /// The network a running site cannot change (SPEC §8): <c>kbundle plan</c> refuses a build that would. Absent in
    /// manifests older than it.
    /// </summary>
    public NetworkRecord? Network { get; init; }
}

/// <summary>What of a site's network its nodes are built on: the service and pod ranges, the cluster domain, the pod /24 of each node with a pod network.</summary>
public sealed record NetworkRecord(string ServiceCidr, string PodCidr, string ClusterDomain, IReadOnlyDictionary<string, string> PodSubnets)
{
    public static NetworkRecord Of(SiteSpec site)
    {
        ArgumentNullException.ThrowIfNull(site);
        return new(site.Network.ServiceCidr.ToString(), site.Network.PodCidr.ToString(), site.Network.ClusterDomain,
            new SortedDictionary<string, string>(site.Nodes.Where(ComponentTable.CniPlugins.RunsOn).ToDictionary(n => n.Name, n => site.PodSubnetOf(n).ToString()), StringComparer.Ordinal));
    }
}

/// <summary>One node: what its bundle holds (also stored inside the payload as .kbundle/node.json, without <see cref="Bundle"/>).</summary>
public sealed record NodeRecord(
    string Name,
    string Ip,
    IReadOnlyList<string> Roles,
    string Arch,
    BundleRecord? Bundle,
    IReadOnlyList<ArtifactRecord> Components,
    IReadOnlyList<FileRecord> Files,
    IReadOnlyList<CertificateRecord> Certificates,
    IReadOnlyList<string> PrivateKeys,
    IReadOnlyList<string> Units)
{
    /// <summary>The images its images-&lt;arch&gt;.tar holds (nodes that run a kubelet), lock order; null for the others.</summary>
    public IReadOnlyList<ImageRecord>? Images { get; init; }

    /// <summary>
    /// An etcd member's start (SPEC §8): the cluster state and membership its empty data dir starts with. A member keeps
    /// what it was first built with; null for the other nodes (and in manifests older than it).
    /// </summary>
    public EtcdRecord? Etcd { get; init; }
}

/// <summary>How an etcd member starts an empty data dir: <c>new</c> with the site's members, or <c>existing</c> with the running cluster's once it is added.</summary>
public sealed record EtcdRecord(string InitialClusterState, string InitialCluster);

/// <param name="ContentSha256">
/// sha256 of "&lt;sha256 of the header with build serial 0&gt; &lt;payload sha256&gt;": the same for two builds whose
/// bundle installs the same thing, whatever their serials (every bundle of a build carries the build's serial).
/// </param>
public sealed record BundleRecord(string File, long Size, string Sha256, string HeaderSha256, long PayloadSize, string PayloadSha256, string? ContentSha256 = null);

public sealed record FileRecord(string Path, string Mode, string Owner, long Size, string Sha256, string Kind, string? Component);

/// <summary>The manifest's records of a node and its files, from what render and the pki step handed on.</summary>
public static class ManifestRecords
{
    /// <summary>A node's record, without <see cref="NodeRecord.Bundle"/> (package adds it once the .run is written).</summary>
    /// <param name="etcd">The node's etcd start, for members.</param>
    public static NodeRecord Node(SiteSpec site, NodeSpec node, NodeTree tree, IReadOnlyList<FileRecord> files,
        IEnumerable<CertificateRecord> certificates, IEnumerable<ArtifactRecord> artifacts, EtcdRecord? etcd = null)
    {
        ArgumentNullException.ThrowIfNull(site);
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(tree);
        var componentNames = tree.Files.Select(f => f.Component).OfType<string>().ToHashSet(StringComparer.Ordinal);
        // kube-nginx is built, not fetched: the source it was built from is the component a reader looks for.
        if (componentNames.Contains(ComponentTable.KubeNginx.Name))
            componentNames.Add(NginxStep.SourceArtifact);
        // What the lock says for auditors (licence, checksum source) stays in the manifest's artifacts: a reworded comment
        // must not change every bundle's node.json, and so every bundle.
        var components = artifacts.Where(a => componentNames.Contains(a.Name) && (a.Arch == Names.Of(node.Arch) || a.Arch == "any"))
            .Select(a => a with { License = null, ChecksumSource = null }).ToList();
        var archive = tree.Files.FirstOrDefault(f => f.Archive is not null)?.Archive;
        return new NodeRecord(node.Name, node.Ip.ToString(), Names.RoleList(node.Roles).ToList(), Names.Of(node.Arch), null, components,
            files, certificates.OrderBy(c => c.Path, StringComparer.Ordinal).ToList(),
            tree.Files.Where(f => f.Kind == FileKind.PrivateKey).Select(f => f.Path).Order(StringComparer.Ordinal).ToList(), tree.Units)
        {
            Images = archive?.Records,
            Etcd = etcd,
        };
    }

    /// <summary>A file's record: generated files are hashed here, binaries carry the hash their shared member recorded.</summary>
    public static FileRecord File(NodeFile file, SharedMember? member)
    {
        ArgumentNullException.ThrowIfNull(file);
        var sources = (file.Content is null ? 0 : 1) + (file.SourceFile is null ? 0 : 1) + (file.Archive is null ? 0 : 1);
        if (sources != 1 || file.Content is null && member is null)
            throw new InvalidOperationException($"{file.Path}: a node file needs exactly one of content, a source file or an image archive (with its shared member)");
        var (size, sha) = file.Content is { } content ? (content.LongLength, PayloadWriter.Sha256Hex(content)) : (member!.ContentSize, member.ContentSha256);
        return new FileRecord(file.Path, BundleLayout.Octal(file.Mode), "root:root", size, sha, file.Kind.ToString().ToLowerInvariant(), file.Component);
    }
}
