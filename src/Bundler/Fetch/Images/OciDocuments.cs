using System.Text.Json;
using Bundler.Configuration;

namespace Bundler.Fetch.Images;

/// <summary>The manifest media types kbundle reads: OCI and Docker schema 2, each as an index or a single manifest.</summary>
public static class MediaTypes
{
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";

    /// <summary>The Accept header of every manifest request, so a registry answers with what was pinned, not a conversion.</summary>
    public static readonly IReadOnlyList<string> Manifests = [OciIndex, DockerManifestList, OciManifest, DockerManifest];

    public static bool IsIndex(string mediaType) => mediaType is OciIndex or DockerManifestList;

    public static bool IsManifest(string mediaType) => mediaType is OciManifest or DockerManifest;
}

/// <summary>An OCI descriptor: what a blob is, its digest and size, and (in an index) its platform.</summary>
public sealed record OciDescriptor(string MediaType, string Digest, long Size, OciPlatform? Platform);

/// <summary>A platform as an index or image config names it.</summary>
public sealed record OciPlatform(string Os, string Architecture, string? Variant)
{
    public override string ToString() => Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";

    /// <summary>
    /// Whether this platform runs on a node of <paramref name="arch"/>: linux, the same architecture, and no
    /// variant beyond the baseline (arm64 is v8; an amd64 "v3" image would not run on every amd64 CPU).
    /// </summary>
    public bool RunsOn(Arch arch) =>
        Os == "linux" && Architecture == Names.Of(arch) &&
        (Variant is null || (arch == Arch.Arm64 && Variant == "v8") || (arch == Arch.Amd64 && Variant == "v1"));
}

/// <summary>
/// Reads index and manifest JSON. Digests must be sha256 (the only algorithm kbundle verifies). Anything that
/// does not parse is the pin's fault, not the transport's: the bytes already matched their digest, so the lock
/// names something that is not a usable image (exit 2, naming it).
/// </summary>
public static class OciDocuments
{
    /// <summary>The media type of a manifest or index: its own <c>mediaType</c> field, else what its shape says.</summary>
    public static string MediaTypeOf(JsonElement root, string label)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw Invalid(label, "is not a JSON object");
        if (root.TryGetProperty("mediaType", out var field) && field.ValueKind == JsonValueKind.String)
        {
            var mediaType = field.GetString()!;
            if (!MediaTypes.IsIndex(mediaType) && !MediaTypes.IsManifest(mediaType))
                throw Invalid(label, $"has media type {mediaType}; allowed: {string.Join(", ", MediaTypes.Manifests)}");
            return mediaType;
        }
        // OCI made mediaType optional in early image-spec versions: the shape decides.
        if (root.TryGetProperty("manifests", out _))
            return MediaTypes.OciIndex;
        if (root.TryGetProperty("config", out _) && root.TryGetProperty("layers", out _))
            return MediaTypes.OciManifest;
        throw Invalid(label, "is neither an image index nor an image manifest");
    }

    public static IReadOnlyList<OciDescriptor> IndexManifests(JsonElement root, string label) =>
        root.TryGetProperty("manifests", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Select((m, i) => Descriptor(m, $"{label} manifests[{i}]")).ToList()
            : throw Invalid(label, "has no manifests list");

    public static (OciDescriptor Config, IReadOnlyList<OciDescriptor> Layers) Manifest(JsonElement root, string label)
    {
        if (!root.TryGetProperty("config", out var config) || !root.TryGetProperty("layers", out var layers) || layers.ValueKind != JsonValueKind.Array)
            throw Invalid(label, "has no config or no layers list");
        return (Descriptor(config, $"{label} config"), layers.EnumerateArray().Select((l, i) => Descriptor(l, $"{label} layers[{i}]")).ToList());
    }

    /// <summary>The platform an image config declares (a single-platform pin has no index to say it).</summary>
    public static OciPlatform ConfigPlatform(JsonElement root, string label) =>
        root.ValueKind == JsonValueKind.Object
        && root.TryGetProperty("os", out var os) && os.ValueKind == JsonValueKind.String
        && root.TryGetProperty("architecture", out var arch) && arch.ValueKind == JsonValueKind.String
            ? new OciPlatform(os.GetString()!, arch.GetString()!, OptionalString(root, "variant"))
            : throw Invalid(label, "names no os and architecture");

    private static OciDescriptor Descriptor(JsonElement element, string label)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw Invalid(label, "is not a descriptor");
        var mediaType = OptionalString(element, "mediaType") ?? "";
        var digest = OptionalString(element, "digest") ?? "";
        if (!ImageReference.IsDigest(digest))
            throw Invalid(label, $"has digest '{digest}'; kbundle verifies sha256 digests only");
        if (!element.TryGetProperty("size", out var sizeField) || !sizeField.TryGetInt64(out var size) || size < 0)
            throw Invalid(label, "has no valid size");
        OciPlatform? platform = null;
        if (element.TryGetProperty("platform", out var p) && p.ValueKind == JsonValueKind.Object)
            platform = new OciPlatform(OptionalString(p, "os") ?? "", OptionalString(p, "architecture") ?? "", OptionalString(p, "variant"));
        return new OciDescriptor(mediaType, digest, size, platform);
    }

    private static string? OptionalString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } s ? s : null;

    public static JsonDocument Parse(byte[] bytes, string label)
    {
        try
        {
            return JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException e)
        {
            throw Invalid(label, $"is not valid JSON ({e.Message})");
        }
    }

    private static UserInputException Invalid(string label, string problem) => new($"{label} {problem}");
}
