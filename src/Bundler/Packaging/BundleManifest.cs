using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Bundler.Packaging;

/// <summary>manifest.json (SPEC §2), field by field; docs/bundle-format.md explains each one.</summary>
public sealed record BundleManifest(
    int FormatVersion,
    string ToolVersion,
    SiteRecord Site,
    long SourceDateEpoch,
    IReadOnlyList<ArtifactEntry> Artifacts,
    IReadOnlyList<NginxEntry>? KubeNginx,
    IReadOnlyList<NodeRecord> Nodes)
{
    /// <summary>2: <c>kubeNginx</c> is a list, one entry per arch (was one object).</summary>
    public const int CurrentFormat = 2;

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Json).Concat("\n"u8.ToArray()).ToArray();

    public static BundleManifest Parse(byte[] bytes, string source) =>
        JsonSerializer.Deserialize<BundleManifest>(bytes, Json) ?? throw new IntegrityException($"{source}: empty manifest");
}

public sealed record SiteRecord(string Name, string Kubernetes, string SourceSha256);

/// <summary><see cref="SignedBy"/>: fingerprint of the lock key whose OpenPGP signature over the artifact verified; absent when unsigned.</summary>
public sealed record ArtifactEntry(string Name, string Version, string Arch, string Url, string Algorithm, string Checksum, string? SignedBy = null);

/// <summary>How one arch's kube-nginx was built (from <see cref="Nginx.NginxProvenance"/>).</summary>
public sealed record NginxEntry(
    string Arch, string Version, string SourceSha256, IReadOnlyList<string> ConfigureArguments, string Compiler, string Target,
    string? Emulator, IReadOnlyList<ShimEntry> ConfigureShims, string BinarySha256)
{
    public static IReadOnlyList<NginxEntry> From(Nginx.NginxResult nginx)
    {
        ArgumentNullException.ThrowIfNull(nginx);
        return nginx.Builds.OrderBy(b => b.Key).Select(b => b.Value.Provenance)
            .Select(p => new NginxEntry(Configuration.Names.Of(p.Arch), p.Version, p.SourceSha256, p.ConfigureArguments, p.Compiler, p.Target,
                p.Emulator, p.ConfigureShims.Select(s => new ShimEntry(s.Name, s.Sha256)).ToList(), p.BinarySha256))
            .ToList();
    }
}

public sealed record ShimEntry(string Name, string Sha256);

/// <summary>One node: what its bundle holds (also stored inside the payload as .kbundle/node.json, without <see cref="Bundle"/>).</summary>
public sealed record NodeRecord(
    string Name,
    string Ip,
    IReadOnlyList<string> Roles,
    string Arch,
    BundleRecord? Bundle,
    IReadOnlyList<ArtifactEntry> Components,
    IReadOnlyList<FileRecord> Files,
    IReadOnlyList<CertificateRecord> Certificates,
    IReadOnlyList<string> PrivateKeys,
    IReadOnlyList<string> Units);

public sealed record BundleRecord(string File, long Size, string Sha256, string HeaderSha256, long PayloadSize, string PayloadSha256);

public sealed record FileRecord(string Path, string Mode, string Owner, long Size, string Sha256, string Kind, string? Component);

public sealed record CertificateRecord(
    string Path, string Subject, string Issuer, IReadOnlyList<string> Sans, DateTimeOffset NotBefore, DateTimeOffset NotAfter,
    string KeyAlgorithm, string SerialNumber);
