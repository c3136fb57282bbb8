using Bundler.Pipeline;
using Bundler.Pki;

namespace Bundler.Tests.Pki;

/// <summary>SPEC §8: the certificates and keys of a node the site no longer has leave state/&lt;site&gt;/nodes/ for retired/.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RetiredCertificatesTests
{
    [Fact]
    public void GivenANodeRemovedFromTheSite_WhenBuilt_ThenItsCertificatesAndKeysMoveToRetiredAndAReturningNodeGetsNewOnes()
    {
        using var fixture = new PkiFixture();
        var five = PkiFixture.StandardNodes();
        var first = fixture.Ensure(PkiFixture.Site(five));
        var before = fixture.Snapshot();
        var at = new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);
        var reporter = new RecordingReporter();

        var four = five.Where(n => n.Name != "k8s-05").ToArray();
        fixture.Ensure(PkiFixture.Site(four), reporter: reporter, now: at);

        Assert.False(Directory.Exists(Path.Combine(fixture.StateDir, "nodes", "k8s-05")));
        var retired = Path.Combine(fixture.StateDir, PkiStore.RetiredDir, "20260304T050607Z", "nodes", "k8s-05");
        var moved = Directory.EnumerateFiles(retired, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(retired, f)).Order().ToList();
        Assert.Equal(["kubelet-client.crt", "kubelet-client.key", "kubelet.crt", "kubelet.key"], moved);
        foreach (var file in moved)
            Assert.Equal(before[Path.Combine("nodes", "k8s-05", file)], File.ReadAllBytes(Path.Combine(retired, file)));
        Assert.Equal((UnixFileMode)0b110_000_000, File.GetUnixFileMode(Path.Combine(retired, "kubelet.key")));
        Assert.Equal((UnixFileMode)0b111_000_000, File.GetUnixFileMode(Path.Combine(fixture.StateDir, PkiStore.RetiredDir)));
        Assert.Contains(reporter.Lines, l => l.StartsWith("pki: retired 4 certificate and key file(s) of k8s-05", StringComparison.Ordinal));
        // The nodes that stay keep theirs byte for byte.
        Assert.Equal(before[Path.Combine("nodes", "k8s-04", "kubelet.crt")], File.ReadAllBytes(Path.Combine(fixture.StateDir, "nodes", "k8s-04", "kubelet.crt")));

        var again = fixture.Ensure(PkiFixture.Site(five), now: at.AddMinutes(1));

        Assert.NotEqual(first.Get("nodes/k8s-05/kubelet").Certificate!.SerialNumber, again.Get("nodes/k8s-05/kubelet").Certificate!.SerialNumber);
    }

    [Fact]
    public void GivenANodeThatLosesTheEtcdRole_WhenBuilt_ThenOnlyItsEtcdCertificatesRetire()
    {
        using var fixture = new PkiFixture();
        fixture.Ensure(PkiFixture.Site());

        var nodes = PkiFixture.StandardNodes().Select(n => n.Name == "k8s-03" ? n with { Roles = ["master"] } : n).ToArray();
        fixture.Ensure(PkiFixture.Site(nodes));

        Assert.False(Directory.Exists(Path.Combine(fixture.StateDir, "nodes", "k8s-03", "etcd")));
        Assert.True(File.Exists(Path.Combine(fixture.StateDir, "nodes", "k8s-03", "apiserver.crt")));
        var retired = Directory.EnumerateFiles(Path.Combine(fixture.StateDir, PkiStore.RetiredDir), "*", SearchOption.AllDirectories)
            .Select(f => Path.GetFileName(Path.GetDirectoryName(f)) + "/" + Path.GetFileName(f)).Order().ToList();
        Assert.Equal(["etcd/peer.crt", "etcd/peer.key", "etcd/server.crt", "etcd/server.key"], retired);
    }
}
