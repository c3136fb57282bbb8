using Bundler.Fetch;
using System.Text;
using Bundler.Packaging;

namespace Bundler.Tests.Packaging;

/// <summary>manifest.json's artifacts[].signedBy (docs/bundle-format.md): present only for artifacts verified by an OpenPGP signature.</summary>
public sealed class ManifestSignerTests
{
    private static BundleManifest With(params ArtifactRecord[] artifacts) =>
        new(BundleManifest.CurrentFormat, "0.1.0", new SiteRecord("lab", "1.36.0", new string('0', 64)), 0, artifacts, null, []);

    [Fact]
    public void GivenASignedAndAnUnsignedArtifact_WhenWritingTheManifest_ThenOnlyTheSignedOneNamesItsSignerAndItReadsBack()
    {
        var signed = new ArtifactRecord("runc", "1.4.3", "amd64", "https://example.org/runc.amd64", "sha256", new string('a', 64), "C9C370B246B09F6DBCFC744C34401015D1D2D386");
        var unsigned = new ArtifactRecord("etcd", "3.6.14", "amd64", "https://example.org/etcd.tar.gz", "sha256", new string('b', 64));

        var bytes = With(signed, unsigned).ToBytes();

        var json = Encoding.UTF8.GetString(bytes);
        Assert.Single(json.Split('\n'), l => l.Contains("\"signedBy\": \"C9C370B246B09F6DBCFC744C34401015D1D2D386\"", StringComparison.Ordinal));
        Assert.Equal([signed, unsigned], BundleManifest.Parse(bytes, "manifest.json").Artifacts);
    }
}
