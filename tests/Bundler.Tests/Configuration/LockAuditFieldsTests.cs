using System.Text.Json;
using Bundler.Configuration;

namespace Bundler.Tests.Configuration;

/// <summary>What a lock says for auditors: each entry's SPDX licence (<c>license:</c>) and where its checksum was read (<c># checksum source:</c>).</summary>
public sealed class LockAuditFieldsTests
{
    private const string Sha256 = "9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31";
    private const string Digest = "sha256:f548e0e8e3dc1896ca956272154dde3314e8cc4fde0a57577ee9fa1c63f5baf4";

    private static string Entry(string name, string extra = "") =>
        $"  - name: {name}\n    version: 1.4.3\n    arch: amd64\n    url: https://example.org/{name}\n    sha256: {Sha256}\n{extra}    install: /opt/k8s/bin/{name}\n";

    private static LockFile Parse(string artifacts, string images = "") =>
        LockFile.Parse("kubernetes: 1.36.0\nartifacts:\n" + artifacts + images, "lock.yaml");

    [Fact]
    public void GivenTheShippedLock_WhenLoaded_ThenEveryArtifactAndImageNamesItsSpdxLicenceAndWhereItsChecksumWasRead()
    {
        var lockFile = LockFile.Load(Path.Combine(TestPaths.Repository, "pins", "1.36.0.yaml"));

        var licences = lockFile.Artifacts.Select(a => (a.Name, a.License)).Concat(lockFile.Images.Select(i => (i.Name, i.License))).Distinct().ToDictionary();
        Assert.Equal(new Dictionary<string, string?>
        {
            ["kubernetes-server"] = "Apache-2.0", ["etcd"] = "Apache-2.0", ["containerd"] = "Apache-2.0", ["runc"] = "Apache-2.0",
            ["cni-plugins"] = "Apache-2.0", ["crictl"] = "Apache-2.0", ["nginx"] = "BSD-2-Clause", ["pause"] = "Apache-2.0", ["coredns"] = "Apache-2.0",
        }, licences);
        Assert.All(lockFile.Artifacts, a => Assert.False(string.IsNullOrWhiteSpace(a.ChecksumSource), a.Name));
        Assert.All(lockFile.Images, i => Assert.False(string.IsNullOrWhiteSpace(i.ChecksumSource), i.Name));
        Assert.Equal("kubernetes CHANGELOG-1.36.md \"Downloads for v1.36.0\"", lockFile.Artifacts[0].ChecksumSource);
        Assert.Equal("buildroot package/nginx/nginx.hash, checked against the PGP signature", lockFile.Artifacts.Single(a => a.Name == "nginx").ChecksumSource);
        // A comment continued over lines is one text; the next "# version source:" comment is not part of it.
        var pause = lockFile.FindImage("pause")!.ChecksumSource!;
        Assert.StartsWith("ten or more independent public files pinning registry.k8s.io/pause:3.10.2@sha256:f548e0e8...; platform manifests linux/amd64 sha256:412c4a72", pause, StringComparison.Ordinal);
        Assert.EndsWith("linux/arm64 sha256:a433214620b407678934ebd69690a9ed6066247231eacfba181fab20dbc3dbf1", pause, StringComparison.Ordinal);
        Assert.DoesNotContain("version source", pause, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Apache-2.0")]
    [InlineData("BSD-2-Clause")]
    [InlineData("MIT OR Apache-2.0")]
    [InlineData("GPL-2.0-only AND BSD-3-Clause")]
    public void GivenAnSpdxLicence_WhenTheLockIsLoaded_ThenTheEntryCarriesIt(string licence)
    {
        var lockFile = Parse(Entry("runc", $"    license: {licence}\n"));

        Assert.Equal(licence, lockFile.Artifacts[0].License);
    }

    [Theory]
    [InlineData("Apache2", "lock.yaml:8:14 artifacts[0].license: 'Apache2' is not an SPDX licence id; did you mean 'Apache-2.0'?")]
    [InlineData("apache-2.0", "lock.yaml:8:14 artifacts[0].license: 'apache-2.0' is not an SPDX licence id; did you mean 'Apache-2.0'?")]
    [InlineData("MIT or Apache-2.0", "lock.yaml:8:14 artifacts[0].license: 'MIT or Apache-2.0': 'or' is not AND or OR")]
    [InlineData("\"MIT OR\"", "lock.yaml:8:14 artifacts[0].license: 'MIT OR' is not an SPDX licence expression")]
    [InlineData("Proprietary-Acme", "lock.yaml:8:14 artifacts[0].license: 'Proprietary-Acme' is not an SPDX licence id; allowed: an id of the SPDX licence list")]
    public void GivenALicenceThatIsNotOnTheSpdxList_WhenTheLockIsLoaded_ThenItIsRefusedAtItsPlaceWithAHint(string licence, string expected)
    {
        var error = Assert.Throws<UserInputException>(() => Parse(Entry("runc", $"    license: {licence}\n")));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenAnImageWithALicenceAndAChecksumSource_WhenTheLockIsLoaded_ThenTheImageCarriesBoth()
    {
        var lockFile = Parse(Entry("runc"), $"images:\n  - name: pause\n    # checksum source: the registry's own index, read twice\n    ref: registry.k8s.io/pause:3.10.2\n    license: Apache-2.0\n    digest: {Digest}\n");

        Assert.Equal(("Apache-2.0", "the registry's own index, read twice"), (lockFile.Images[0].License, lockFile.Images[0].ChecksumSource));
        var error = Assert.Throws<UserInputException>(() => Parse(Entry("runc"), $"images:\n  - name: pause\n    ref: registry.k8s.io/pause:3.10.2\n    license: Apache 2\n    digest: {Digest}\n"));
        Assert.Contains("images[0].license: 'Apache 2' is not an SPDX licence expression", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenCommentsAroundEntries_WhenTheLockIsLoaded_ThenEachEntryGetsOnlyItsOwnChecksumSource()
    {
        var lockFile = Parse(
            Entry("first") +
            "  # checksum source: a comment indented like the list, not like the entry's keys\n" +
            Entry("second", "    # checksum source: upstream SHA256SUMS,\n    #   signed by the release key\n    # signature key: not part of it\n") +
            Entry("third", "    #checksum source:   spaced <b>oddly</b> & \"quoted\"   \n") +
            Entry("fourth", "    # Checksum Source:\n"));

        Assert.Equal([null, "upstream SHA256SUMS, signed by the release key", "spaced <b>oddly</b> & \"quoted\"", null],
            lockFile.Artifacts.Select(a => a.ChecksumSource));
    }

    [Fact]
    public void GivenTheEmbeddedSpdxList_ThenItIsTheEnumOfTheVendoredCycloneDxSpdxSchema()
    {
        using var schema = JsonDocument.Parse(File.ReadAllBytes(TestPaths.TestData("CycloneDx", "spdx.schema.json")));

        var ids = schema.RootElement.GetProperty("enum").EnumerateArray().Select(e => e.GetString()!).ToList();

        Assert.Equal(ids.Order(StringComparer.Ordinal), SpdxLicense.Ids.Order(StringComparer.Ordinal));
        Assert.Contains("Apache-2.0", ids);
    }
}
