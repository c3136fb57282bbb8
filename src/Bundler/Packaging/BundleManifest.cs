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
    NginxEntry? KubeNginx,
    IReadOnlyList<NodeRecord> Nodes)
{
    public const int CurrentFormat = 1;

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

public sealed record NginxEntry(string Version, string SourceSha256, IReadOnlyList<string> ConfigureArguments, string Compiler, string BinarySha256);

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
