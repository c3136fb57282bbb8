using System.Globalization;
using System.Text.Json.Nodes;
using Bundler.Audit;
using Bundler.Configuration;
using Bundler.Packaging;
using Bundler.Tests.Packaging;

namespace Bundler.Tests.Audit;

/// <summary>sbom.cdx.json of a real build (fetch, pki, render, package, sign) that pins an image as well as artifacts.</summary>
public sealed class SbomTests : IDisposable
{
    private readonly BundleFixture _fx = new();

    public SbomTests() => Environment.SetEnvironmentVariable("SOURCE_DATE_EPOCH", BundleFixture.Epoch.ToString(CultureInfo.InvariantCulture));

    public void Dispose() => _fx.Dispose();

    private async Task<(BundleManifest Manifest, byte[] Sbom, JsonNode Bom)> BuildAsync()
    {
        await _fx.BuildAsync();
        var manifest = BundleManifest.Parse(File.ReadAllBytes(Path.Combine(_fx.Out(), "manifest.json")), "manifest.json");
        var sbom = File.ReadAllBytes(Path.Combine(_fx.Out(), "sbom.cdx.json"));
        return (manifest, sbom, JsonNode.Parse(sbom)!);
    }

    private static JsonNode Component(JsonNode bom, string bomRef) =>
        Descendants(bom["components"]!.AsArray()).SingleOrDefault(c => (string?)c["bom-ref"] == bomRef)
        ?? throw new Xunit.Sdk.XunitException($"no component {bomRef} in the SBOM");

    private static IEnumerable<JsonNode> Descendants(JsonArray components) =>
        components.OfType<JsonNode>().SelectMany(c => c["components"] is JsonArray nested ? Descendants(nested).Prepend(c) : [c]);

    private static (string Alg, string Content) Hash(JsonNode component) =>
        ((string)component["hashes"]![0]!["alg"]!, (string)component["hashes"]![0]!["content"]!);

    [Fact]
    public async Task GivenABuildThatPinsAnImage_WhenItsSbomIsCheckedAgainstTheOfficialCycloneDx16Schema_ThenItIsValid()
    {
        ImagePins.Ensure(_fx);

        var (manifest, sbom, bom) = await BuildAsync();

        Assert.Empty(CycloneDxSchema.Problems(sbom));
        Assert.Equal("1.6", (string)bom["specVersion"]!);
        Assert.NotNull(manifest.Images);
    }

    [Fact]
    public async Task GivenABuildThatPinsAnImage_WhenItsSbomIsRead_ThenEveryArtifactAndImageOfTheManifestAppearsWithAMatchingHash()
    {
        ImagePins.Ensure(_fx);

        var (manifest, _, bom) = await BuildAsync();

        // Expected values come from the lock and the mirror the test wrote, not from the code under test.
        var lockFile = LockFile.Load(_fx.LockPath);
        Assert.Equal(lockFile.Artifacts.Count, manifest.Artifacts.Count);
        foreach (var a in manifest.Artifacts)
        {
            var pinned = lockFile.Artifacts.Single(p => p.Name == a.Name && p.Arch == a.Arch);
            var c = Component(bom, Sbom.Refs.Artifact(a));
            Assert.Equal(("SHA-256", pinned.Checksum), Hash(c));
            Assert.Equal((pinned.Name, pinned.Version), ((string)c["name"]!, (string)c["version"]!));
            Assert.Equal(pinned.Url, (string)c["externalReferences"]![0]!["url"]!);
            Assert.Equal(pinned.License, (string?)c["licenses"]?[0]?["license"]?["id"]);
            Assert.StartsWith($"pkg:generic/{a.Name}@{a.Version}?", (string)c["purl"]!, StringComparison.Ordinal);
            Assert.Contains("download_url=" + pinned.Url.Replace("/", "%2F", StringComparison.Ordinal), (string)c["purl"]!, StringComparison.Ordinal);
            Assert.Contains(c["properties"]!.AsArray(), p => (string)p!["name"]! == "kbundle:checksumSource" && (string)p["value"]! == _fx.ChecksumSource);
        }

        Assert.NotEmpty(manifest.Images!);
        Assert.Equal(lockFile.Images.Select(i => i.Name), manifest.Images!.Select(i => i.Name));
        foreach (var image in manifest.Images!)
        {
            var pinned = lockFile.FindImage(image.Name)!;
            var component = Component(bom, Sbom.Refs.Image(image));
            Assert.Equal(("SHA-256", pinned.Digest["sha256:".Length..]), Hash(component));
            var (repository, tag) = Purl.SplitTag(pinned.Ref);
            Assert.Equal($"pkg:oci/{repository[(repository.LastIndexOf('/') + 1)..]}@{pinned.Digest}?repository_url={repository.Replace("/", "%2F", StringComparison.Ordinal)}&tag={tag}",
                (string)component["purl"]!);
            Assert.Equal(pinned.License, (string?)component["licenses"]?[0]?["license"]?["id"]);
            var platform = Assert.Single(image.Platforms);
            Assert.Equal("amd64", platform.Arch);
            Assert.True(File.Exists(Path.Combine(_fx.Mirror, "oci", "blobs", "sha256", platform.Digest["sha256:".Length..])), platform.Digest);
            Assert.Equal(("SHA-256", platform.Digest["sha256:".Length..]), Hash(Component(bom, Sbom.Refs.ImagePlatform(image, "amd64"))));
        }
    }

    [Fact]
    public async Task GivenABuild_WhenItsSbomIsRead_ThenKubeNginxNamesItsSourceAsAncestorAndEachBundleDependsOnWhatItCarries()
    {
        ImagePins.Ensure(_fx);

        var (manifest, _, bom) = await BuildAsync();

        var nginx = Assert.Single(manifest.KubeNginx!);
        var built = Component(bom, Sbom.Refs.KubeNginx("amd64"));
        Assert.Equal(("SHA-256", nginx.BinarySha256), Hash(built));
        var ancestor = built["pedigree"]!["ancestors"]![0]!;
        Assert.Equal(("nginx", "1.22.1"), ((string)ancestor["name"]!, (string)ancestor["version"]!));
        Assert.Equal(("SHA-256", nginx.SourceSha256), Hash(ancestor));
        Assert.Equal("BSD-2-Clause", (string)ancestor["licenses"]![0]!["license"]!["id"]!);

        var sums = File.ReadAllLines(Path.Combine(_fx.Out(), "SHA256SUMS")).ToDictionary(l => l[66..], l => l[..64]);
        var dependencies = bom["dependencies"]!.AsArray().ToDictionary(d => (string)d!["ref"]!, d => d!["dependsOn"]!.AsArray().Select(x => (string)x!).ToList());
        Assert.Equal(manifest.Nodes.Select(Sbom.Refs.Bundle).Order(), dependencies["site:lab"].Order());
        foreach (var node in manifest.Nodes)
        {
            Assert.Equal(("SHA-256", sums[node.Bundle!.File]), Hash(Component(bom, Sbom.Refs.Bundle(node))));
            var carried = dependencies[Sbom.Refs.Bundle(node)];
            Assert.Equal(node.Components.Select(Sbom.Refs.Artifact).Append("kube-nginx:amd64")
                .Concat(node.Units.Contains("kubelet") ? manifest.Images!.Select(i => Sbom.Refs.ImagePlatform(i, "amd64")) : []).Order(), carried.Order());
        }
        Assert.Contains(manifest.Nodes, n => n.Units.Contains("kubelet"));
        Assert.All(dependencies.Values.SelectMany(d => d), r => Component(bom, r));
    }

    [Fact]
    public async Task GivenTheSameManifest_WhenTheSbomIsRenderedAgain_ThenItIsByteIdenticalWithAContentDerivedSerialAndTheSourceDateAsTimestamp()
    {
        var (manifest, sbom, bom) = await BuildAsync();

        var again = Sbom.Render(manifest, ToolIdentity.Current);
        var other = Sbom.Render(manifest with { Site = manifest.Site with { Kubernetes = "1.36.1" } }, ToolIdentity.Current);

        Assert.Equal(sbom, again);
        Assert.Matches("^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", (string)bom["serialNumber"]!);
        Assert.NotEqual((string)bom["serialNumber"]!, (string)JsonNode.Parse(other)!["serialNumber"]!);
        Assert.Equal("2026-01-01T00:00:00Z", (string)bom["metadata"]!["timestamp"]!);
        var tool = bom["metadata"]!["tools"]!["components"]![0]!;
        Assert.Equal(("kbundle", ToolIdentity.Current.Full), ((string)tool["name"]!, (string)tool["version"]!));
    }

    [Fact]
    public void GivenTheRfc4122Example_WhenANameBasedUuidIsMade_ThenItIsTheVersion5UuidOfThatName()
    {
        // RFC 4122 appendix B's DNS namespace and Python's uuid.uuid5(NAMESPACE_DNS, "python.org").
        Assert.Equal("886313e1-3b8a-5372-9b90-0c9aee199e5d", Sbom.NameBasedUuid(new Guid("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), "python.org"));
    }

    [Theory]
    [InlineData("registry.k8s.io/pause:3.10.2", "sha256:f548e0e8e3dc1896ca956272154dde3314e8cc4fde0a57577ee9fa1c63f5baf4", null,
        "pkg:oci/pause@sha256:f548e0e8e3dc1896ca956272154dde3314e8cc4fde0a57577ee9fa1c63f5baf4?repository_url=registry.k8s.io%2Fpause&tag=3.10.2")]
    [InlineData("registry.k8s.io/coredns/coredns:v1.14.2", "sha256:ab", "arm64", "pkg:oci/coredns@sha256:ab?arch=arm64&repository_url=registry.k8s.io%2Fcoredns%2Fcoredns&tag=v1.14.2")]
    [InlineData("localhost:5000/My/App", "sha256:ab", null, "pkg:oci/app@sha256:ab?repository_url=localhost:5000%2FMy%2FApp")]
    public void GivenAnImageReference_WhenItsPurlIsMade_ThenItFollowsThePurlSpecsOciType(string reference, string digest, string? arch, string expected)
    {
        Assert.Equal(expected, Purl.Oci(reference, digest, arch));
    }

    [Fact]
    public void GivenADownload_WhenItsPurlIsMade_ThenQualifiersAreSortedAndPercentEncodedExceptColons()
    {
        var purl = Purl.Generic("etcd", "3.6.14", [new("download_url", "https://github.com/etcd-io/etcd/releases/download/v3.6.14/etcd v3.tar.gz"), new("arch", "amd64"), new("checksum", "sha256:ffe8")]);

        Assert.Equal("pkg:generic/etcd@3.6.14?arch=amd64&checksum=sha256:ffe8&download_url=https:%2F%2Fgithub.com%2Fetcd-io%2Fetcd%2Freleases%2Fdownload%2Fv3.6.14%2Fetcd%20v3.tar.gz", purl);
    }

    [Fact]
    public async Task GivenAnSbomBrokenOnPurpose_WhenCheckedAgainstTheSchema_ThenTheSchemaNamesWhatIsWrong()
    {
        var (_, _, bom) = await BuildAsync();
        bom["components"]![0]!["hashes"]![0]!["content"] = "not hex";
        bom["components"]![0]!["licenses"]![0]!["license"]!["id"] = "Apache2";
        bom["serialNumber"] = "urn:uuid:not-a-uuid";

        var problems = CycloneDxSchema.Problems(System.Text.Encoding.UTF8.GetBytes(bom.ToJsonString()));

        Assert.Contains(problems, p => p.StartsWith("/components/0/hashes/0/content", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("/components/0/licenses/0", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("/serialNumber", StringComparison.Ordinal));
    }
}
