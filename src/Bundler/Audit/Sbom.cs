using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Nginx;
using Bundler.Packaging;

namespace Bundler.Audit;

/// <summary>
/// sbom.cdx.json (SPEC §9): the build as a CycloneDX 1.6 BOM, made from the manifest alone. Components: every pinned
/// artifact (hashes, download URL, licence, purl), every image and its platforms (<c>pkg:oci/…@sha256:…</c>), the built
/// kube-nginx per arch with its source as pedigree ancestor, and each node bundle, whose dependencies are what it carries.
/// The same manifest and tool give the same bytes: the timestamp is the build's source-date-epoch and the serial number a
/// name-based UUID of the document's own content.
/// </summary>
public static class Sbom
{
    public const string SpecVersion = "1.6";
    public const string SchemaUrl = "http://cyclonedx.org/schema/bom-1.6.schema.json";

    /// <summary>Property names kbundle adds (CycloneDX's property taxonomy: a namespace per tool).</summary>
    public const string PropertyPrefix = "kbundle:";

    private static readonly JsonSerializerOptions Output = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The namespace of the serial number's name-based UUID (RFC 4122's URL namespace; the name is a URN of the content hash).</summary>
    private static readonly Guid UrlNamespace = new("6ba7b811-9dad-11d1-80b4-00c04fd430c8");

    /// <param name="buildSerial">The manifest's build serial, when it has one (a property of the BOM's metadata); the manifest's own when not given.</param>
    public static byte[] Render(BundleManifest manifest, ToolIdentity tool, long? buildSerial = null)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(tool);
        buildSerial ??= manifest.BuildSerial;
        var body = Document(manifest, tool, buildSerial, serial: null);
        var serial = NameBasedUuid(UrlNamespace, "urn:kbundle:sbom:" + Convert.ToHexStringLower(SHA256.HashData(Bytes(body))));
        return Bytes(Document(manifest, tool, buildSerial, "urn:uuid:" + serial));
    }

    /// <summary>The bom-ref of each thing a BOM names; dependencies and tests find components by these.</summary>
    public static class Refs
    {
        public static string Site(string name) => $"site:{name}";

        public static string Artifact(ArtifactRecord a) => $"artifact:{a.Name}@{a.Version}:{a.Arch}";

        public static string KubeNginx(string arch) => $"kube-nginx:{arch}";

        public static string Image(PinnedImageRecord image) => $"image:{image.Name}";

        public static string ImagePlatform(PinnedImageRecord image, string arch) => $"image:{image.Name}:{arch}";

        public static string Bundle(NodeRecord node) => $"bundle:{node.Name}";
    }

    private static JsonObject Document(BundleManifest m, ToolIdentity tool, long? buildSerial, string? serial)
    {
        var doc = new JsonObject
        {
            ["$schema"] = SchemaUrl,
            ["bomFormat"] = "CycloneDX",
            ["specVersion"] = SpecVersion,
        };
        if (serial is not null)
            doc["serialNumber"] = serial;
        doc["version"] = 1;
        doc["metadata"] = Metadata(m, tool, buildSerial);
        var images = m.Images ?? [];
        doc["components"] = Array(
            m.Artifacts.Select(a => Artifact(a, m.KubeNginx ?? []))
                .Concat((m.KubeNginx ?? []).Select(p => KubeNginx(p, m.Artifacts)))
                .Concat(images.Select(Image))
                .Concat(m.Nodes.Select(Bundle)));
        doc["dependencies"] = Array(
            new[] { Dependency(Refs.Site(m.Site.Name), m.Nodes.Select(Refs.Bundle)) }
                .Concat(m.Nodes.Select(n => Dependency(Refs.Bundle(n), Carried(m, n))))
                .Concat(images.Select(i => Dependency(Refs.Image(i), i.Platforms.Select(p => Refs.ImagePlatform(i, p.Arch))))));
        return doc;
    }

    private static JsonObject Metadata(BundleManifest m, ToolIdentity tool, long? buildSerial) => new JsonObject
    {
        ["timestamp"] = DateTimeOffset.FromUnixTimeSeconds(m.SourceDateEpoch).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        ["lifecycles"] = new JsonArray(new JsonObject { ["phase"] = "build" }),
        ["tools"] = new JsonObject
        {
            ["components"] = new JsonArray(new JsonObject
            {
                ["type"] = "application",
                ["name"] = ToolIdentity.Name,
                ["version"] = tool.Full,
                ["description"] = "builds signed, offline installation bundles for binary Kubernetes clusters",
            }.With(("commit", tool.Commit))),
        },
        ["component"] = new JsonObject
        {
            ["type"] = "platform",
            ["bom-ref"] = Refs.Site(m.Site.Name),
            ["name"] = m.Site.Name,
            ["version"] = m.Site.Kubernetes,
            ["description"] = $"Kubernetes {m.Site.Kubernetes} for site {m.Site.Name}: {m.Nodes.Count} node bundle(s)",
        }.With(("siteSourceSha256", m.Site.SourceSha256)),
    }.With(
        ("manifestFormat", m.FormatVersion.ToString(CultureInfo.InvariantCulture)),
        ("toolVersion", m.ToolVersion),
        ("buildSerial", buildSerial?.ToString(CultureInfo.InvariantCulture)),
        ("sourceDateEpoch", m.SourceDateEpoch.ToString(CultureInfo.InvariantCulture)));

    private static JsonObject Artifact(ArtifactRecord a, IReadOnlyList<NginxProvenance> builds)
    {
        var component = new JsonObject
        {
            ["type"] = "application",
            ["bom-ref"] = Refs.Artifact(a),
            ["name"] = a.Name,
            ["version"] = a.Version,
            ["hashes"] = Hashes((a.Algorithm, a.Checksum)),
        };
        AddLicenses(component, a.License);
        component["purl"] = ArtifactPurl(a);
        component["externalReferences"] = new JsonArray(new JsonObject
        {
            ["type"] = "distribution",
            ["url"] = a.Url,
            ["hashes"] = Hashes((a.Algorithm, a.Checksum)),
        });
        // The manifest does not say which artifacts are sources; the one a kube-nginx build names by checksum is.
        var builtFrom = builds.Any(b => a.Algorithm == "sha256" && b.SourceSha256 == a.Checksum);
        AddProperties(component, ("arch", a.Arch), ("builtInto", builtFrom ? "kube-nginx" : null),
            ("checksumSource", a.ChecksumSource), ("openpgpSignedBy", a.SignedBy));
        return component;
    }

    private static string ArtifactPurl(ArtifactRecord a) =>
        Purl.Generic(a.Name, a.Version, [new("arch", a.Arch == "any" ? "" : a.Arch), new("checksum", $"{a.Algorithm}:{a.Checksum}"), new("download_url", a.Url)]);

    private static JsonObject KubeNginx(NginxProvenance p, IReadOnlyList<ArtifactRecord> artifacts)
    {
        var arch = Names.Of(p.Arch);
        var source = artifacts.FirstOrDefault(a => a.Name == NginxStep.SourceArtifact && a.Algorithm == "sha256" && a.Checksum == p.SourceSha256);
        var ancestor = new JsonObject
        {
            ["type"] = "application",
            ["name"] = NginxStep.SourceArtifact,
            ["version"] = p.Version,
            ["hashes"] = Hashes(("sha256", p.SourceSha256)),
        };
        AddLicenses(ancestor, source?.License);
        if (source is not null)
        {
            ancestor["purl"] = ArtifactPurl(source);
            ancestor["externalReferences"] = new JsonArray(new JsonObject { ["type"] = "distribution", ["url"] = source.Url });
        }
        var component = new JsonObject
        {
            ["type"] = "application",
            ["bom-ref"] = Refs.KubeNginx(arch),
            ["name"] = "kube-nginx",
            ["version"] = p.Version,
            ["description"] = $"nginx {p.Version} built from source by kbundle, static, for linux/{arch}",
            ["hashes"] = Hashes(("sha256", p.BinarySha256)),
        };
        AddLicenses(component, source?.License);
        component["purl"] = Purl.Generic("kube-nginx", p.Version, [new("arch", arch), new("checksum", "sha256:" + p.BinarySha256)]);
        component["pedigree"] = new JsonObject
        {
            ["ancestors"] = new JsonArray(ancestor),
            ["notes"] = $"./configure {string.Join(' ', p.ConfigureArguments)}; compiler {p.Compiler} ({p.Target})" +
                        (p.Emulator is null ? "" : $"; configure's test programs ran under {p.Emulator}"),
        };
        AddProperties(component,
            [("arch", arch), ("compiler", p.Compiler), ("target", p.Target), ("emulator", p.Emulator),
             .. p.ConfigureShims.Select(s => ((string, string?))($"configureShim:{s.Name}", "sha256:" + s.Sha256))]);
        return component;
    }

    private static JsonObject Image(PinnedImageRecord image)
    {
        var (repository, tag) = Purl.SplitTag(image.Ref);
        var component = new JsonObject
        {
            ["type"] = "container",
            ["bom-ref"] = Refs.Image(image),
            ["name"] = repository,
        };
        if (tag is not null)
            component["version"] = tag;
        component["hashes"] = Hashes(Digest(image.Digest));
        AddLicenses(component, image.License);
        component["purl"] = Purl.Oci(image.Ref, image.Digest);
        AddProperties(component, ("lockName", image.Name), ("ref", image.Ref), ("checksumSource", image.ChecksumSource));
        component["components"] = Array(image.Platforms.Select(p =>
        {
            var platform = new JsonObject
            {
                ["type"] = "container",
                ["bom-ref"] = Refs.ImagePlatform(image, p.Arch),
                ["name"] = repository,
            };
            if (tag is not null)
                platform["version"] = tag;
            platform["hashes"] = Hashes(Digest(p.Digest));
            AddLicenses(platform, image.License);
            platform["purl"] = Purl.Oci(image.Ref, p.Digest, p.Arch);
            AddProperties(platform, ("arch", p.Arch), ("size", p.Size.ToString(CultureInfo.InvariantCulture)));
            return platform;
        }));
        return component;
    }

    private static JsonObject Bundle(NodeRecord node)
    {
        var component = new JsonObject
        {
            ["type"] = "file",
            ["bom-ref"] = Refs.Bundle(node),
            ["name"] = node.Bundle?.File ?? node.Name,
            ["description"] = $"self-extracting installation bundle for node {node.Name} ({node.Ip}, {string.Join(",", node.Roles)}, {node.Arch})",
        };
        if (node.Bundle is { } bundle)
            component["hashes"] = Hashes(("sha256", bundle.Sha256));
        AddProperties(component,
            ("node", node.Name), ("ip", node.Ip), ("roles", string.Join(",", node.Roles)), ("arch", node.Arch),
            ("size", node.Bundle?.Size.ToString(CultureInfo.InvariantCulture)), ("payloadSha256", node.Bundle?.PayloadSha256),
            ("units", string.Join(" ", node.Units)), ("privateKeys", node.PrivateKeys.Count.ToString(CultureInfo.InvariantCulture)));
        return component;
    }

    /// <summary>What a node's bundle carries: its artifacts, its arch's kube-nginx, and (on kubelet nodes) its arch of every image.</summary>
    public static IEnumerable<string> Carried(BundleManifest manifest, NodeRecord node)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(node);
        var refs = node.Components.Select(Refs.Artifact).ToList();
        if (node.Files.Any(f => f.Component == "kube-nginx") && (manifest.KubeNginx ?? []).Any(p => Names.Of(p.Arch) == node.Arch))
            refs.Add(Refs.KubeNginx(node.Arch));
        if (node.Units.Contains("kubelet"))
            refs.AddRange((manifest.Images ?? []).Where(i => i.Platforms.Any(p => p.Arch == node.Arch)).Select(i => Refs.ImagePlatform(i, node.Arch)));
        return refs;
    }

    private static JsonObject Dependency(string reference, IEnumerable<string> dependsOn) => new()
    {
        ["ref"] = reference,
        ["dependsOn"] = Array(dependsOn.Distinct(StringComparer.Ordinal).Select(r => (JsonNode)JsonValue.Create(r))),
    };

    private static void AddLicenses(JsonObject component, string? license)
    {
        if (license is null)
            return;
        component["licenses"] = SpdxLicense.IsSingleId(license)
            ? new JsonArray(new JsonObject { ["license"] = new JsonObject { ["id"] = license } })
            : new JsonArray(new JsonObject { ["expression"] = license });
    }

    private static (string Algorithm, string Hex) Digest(string digest) =>
        digest.StartsWith("sha256:", StringComparison.Ordinal) ? ("sha256", digest["sha256:".Length..])
            : throw new InvalidOperationException($"{digest}: not a sha256 digest");

    private static JsonArray Hashes(params (string Algorithm, string Hex)[] hashes) =>
        Array(hashes.Select(h => (JsonNode)new JsonObject
        {
            ["alg"] = h.Algorithm switch
            {
                "sha256" => "SHA-256",
                "sha512" => "SHA-512",
                _ => throw new InvalidOperationException($"no CycloneDX name for hash algorithm {h.Algorithm}"),
            },
            ["content"] = h.Hex,
        }));

    /// <summary>Adds <c>properties</c> (the ones with a value; none: no key) as the object's last member.</summary>
    private static void AddProperties(JsonObject target, params (string Name, string? Value)[] properties)
    {
        var present = properties.Where(p => p.Value is not null).ToList();
        if (present.Count > 0)
            target["properties"] = Array(present.Select(p => (JsonNode)new JsonObject { ["name"] = PropertyPrefix + p.Name, ["value"] = p.Value }));
    }

    private static JsonObject With(this JsonObject target, params (string Name, string? Value)[] properties)
    {
        AddProperties(target, properties);
        return target;
    }

    private static JsonArray Array(IEnumerable<JsonNode> items) => new([.. items]);

    private static byte[] Bytes(JsonObject document) =>
        [.. JsonSerializer.SerializeToUtf8Bytes(document, Output), .. "\n"u8];

    /// <summary>An RFC 4122 version 5 (SHA-1, name-based) UUID: the same name always gives the same UUID.</summary>
    public static string NameBasedUuid(Guid ns, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var nsBytes = ns.ToByteArray(bigEndian: true);
        var hash = SHA1.HashData([.. nsBytes, .. Encoding.UTF8.GetBytes(name)]);
        var bytes = hash[..16];
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x50);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes, bigEndian: true).ToString("D");
    }
}
