using Bundler.Layout;
using Bundler.Pipeline;
using Bundler.Pki;
using Xunit;

namespace Bundler.Tests.Pki;

/// <summary>State: generated once, reused byte for byte, re-issued only where the spec or the calendar says so.</summary>
public sealed class PkiStoreTests
{
    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void GivenAFreshState_WhenIssued_ThenFoldersAre0700KeysAre0600AndCertificates0644()
    {
        using var fixture = new PkiFixture();
        var pki = fixture.Ensure(PkiFixture.Site());
        Bundler.Signing.SigningKey.Ensure(fixture.StateDir);

        foreach (var dir in Directory.EnumerateDirectories(fixture.StateDir, "*", SearchOption.AllDirectories).Append(fixture.StateDir))
            Assert.Equal(NodeFile.SecretDir, File.GetUnixFileMode(dir));
        foreach (var file in Directory.EnumerateFiles(fixture.StateDir, "*", SearchOption.AllDirectories))
        {
            var expected = file.EndsWith(".key", StringComparison.Ordinal) ? NodeFile.Secret : NodeFile.Public;
            Assert.True(expected == File.GetUnixFileMode(file), $"{file}: {File.GetUnixFileMode(file)}");
        }
        Assert.Equal(32, Convert.FromBase64String(pki.EncryptionKeyBase64).Length);
        Assert.Contains("\"nodes/k8s-04/kubelet\"", File.ReadAllText(Path.Combine(fixture.StateDir, PkiStore.IndexFile)));
    }

    [Fact]
    public void GivenAFixedClock_WhenIssued_ThenNotBeforeIsBackdatedFiveMinutesAndValidityComesFromTheSite()
    {
        using var fixture = new PkiFixture();
        var now = new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

        var pki = fixture.Ensure(PkiFixture.Site(), now: now);

        var ca = pki.Get("ca").Certificate!;
        var leaf = pki.Get("nodes/k8s-01/apiserver").Certificate!;
        Assert.Equal(now.AddMinutes(-5).UtcDateTime, ca.NotBefore.ToUniversalTime());
        Assert.Equal(now.AddDays(3650).UtcDateTime, ca.NotAfter.ToUniversalTime());
        Assert.Equal(now.AddMinutes(-5).UtcDateTime, leaf.NotBefore.ToUniversalTime());
        Assert.Equal(now.AddDays(365).UtcDateTime, leaf.NotAfter.ToUniversalTime());
        Assert.All(pki.Items.Where(i => i.Certificate is not null), i => Assert.Equal(16, i.Certificate!.SerialNumberBytes.Length));
    }

    [Fact]
    public void GivenAnUnchangedSite_WhenRebuilt_ThenNoStateFileChanges()
    {
        using var fixture = new PkiFixture();
        var site = PkiFixture.Site();
        var first = fixture.Ensure(site);
        var before = fixture.Snapshot();

        var again = fixture.Ensure(site);

        Assert.Empty(PkiFixture.Changed(before, fixture.Snapshot()));
        Assert.Empty(again.Issued);
        Assert.Equal(first.CaCertificatePem, again.CaCertificatePem);
        Assert.Equal(first.EncryptionKeyBase64, again.EncryptionKeyBase64);
    }

    [Fact]
    public void GivenOneMastersIpChanges_WhenRebuilt_ThenExactlyTheCertificatesWhoseSansContainItAreReissued()
    {
        using var fixture = new PkiFixture();
        var oldSite = PkiFixture.Site(PkiFixture.StandardNodes());
        fixture.Ensure(oldSite);
        var before = fixture.Snapshot();

        var newSite = PkiFixture.Site(PkiFixture.StandardNodes(k8s02Ip: "192.168.93.22"));
        var pki = fixture.Ensure(newSite);

        var affected = CertificateTable.Expand(oldSite).Where(i => i.Sans.Contains("IP:192.168.93.12"))
            .Concat(CertificateTable.Expand(newSite).Where(i => i.Sans.Contains("IP:192.168.93.22")))
            .Select(i => i.Id).Distinct().Order().ToList();
        // The master's kubelet serving certificate names its IP too: masters are nodes (SPEC §7).
        Assert.Equal(["nodes/k8s-02/apiserver", "nodes/k8s-02/etcd/peer", "nodes/k8s-02/etcd/server", "nodes/k8s-02/kubelet"], affected);
        Assert.Equal(affected, pki.Issued.Order());
        var expectedFiles = affected.SelectMany(id => new[] { id + ".crt", id + ".key" }).Append(PkiStore.IndexFile).Order(StringComparer.Ordinal);
        Assert.Equal(expectedFiles, PkiFixture.Changed(before, fixture.Snapshot()));
    }

    [Fact]
    public void GivenANewWorker_WhenRebuilt_ThenOnlyThatNodesCertificatesAreIssued()
    {
        using var fixture = new PkiFixture();
        fixture.Ensure(PkiFixture.Site());
        var before = fixture.Snapshot();

        var pki = fixture.Ensure(PkiFixture.Site([.. PkiFixture.StandardNodes(), new("k8s-06", "192.168.93.16", "worker")]));

        Assert.Equal(["nodes/k8s-06/kubelet", "nodes/k8s-06/kubelet-client"], pki.Issued.Order());
        Assert.All(PkiFixture.Changed(before, fixture.Snapshot()), f => Assert.True(f.StartsWith("nodes/k8s-06/", StringComparison.Ordinal) || f == PkiStore.IndexFile, f));
    }

    [Fact]
    public void GivenRenew_WhenRebuilt_ThenEveryLeafIsReissuedAndNoCaOrServiceAccountKey()
    {
        using var fixture = new PkiFixture();
        var site = PkiFixture.Site();
        fixture.Ensure(site);
        var before = fixture.Snapshot();

        var pki = fixture.Ensure(site, renew: true);

        var leaves = CertificateTable.Expand(site).Where(i => i.Spec.Kind == CertificateKind.Leaf).Select(i => i.Id).Order();
        Assert.Equal(leaves, pki.Issued.Order());
        var after = fixture.Snapshot();
        foreach (var stable in new[] { "ca.crt", "ca.key", "etcd/ca.crt", "etcd/ca.key", "front-proxy-ca.crt", "front-proxy-ca.key", "sa.key", "sa.pub", "encryption.key" })
            Assert.Equal(before[stable], after[stable]);
    }

    [Fact]
    public void GivenLeavesWithin30DaysOfExpiry_WhenRebuilt_ThenTheyAreReissuedAndTheCasAreKept()
    {
        using var fixture = new PkiFixture();
        var site = PkiFixture.Site();
        var start = DateTimeOffset.UtcNow;
        fixture.Ensure(site, now: start);
        var ca = File.ReadAllBytes(Path.Combine(fixture.StateDir, "ca.crt"));

        var notYet = fixture.Ensure(site, now: start.AddDays(300));
        var due = fixture.Ensure(site, now: start.AddDays(340));

        Assert.Empty(notYet.Issued);
        Assert.Equal(CertificateTable.Expand(site).Count(i => i.Spec.Kind == CertificateKind.Leaf), due.Issued.Count);
        Assert.Equal(ca, File.ReadAllBytes(Path.Combine(fixture.StateDir, "ca.crt")));
    }

    [Fact]
    public void GivenACaNearItsEnd_WhenRebuilt_ThenAWarningNamesTheDateAndTheCaIsNotRegenerated()
    {
        using var fixture = new PkiFixture();
        var site = PkiFixture.Site();
        var start = DateTimeOffset.UtcNow;
        fixture.Ensure(site, now: start);
        var before = File.ReadAllBytes(Path.Combine(fixture.StateDir, "etcd/ca.key"));
        var reporter = new RecordingReporter();

        fixture.Ensure(site, reporter: reporter, now: start.AddDays(3600));

        var caEnd = start.AddDays(3650).ToString("yyyy-MM-dd");
        Assert.Contains(reporter.Lines, l => l.StartsWith("warning: CA 'etcd/ca' expires on " + caEnd, StringComparison.Ordinal));
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(fixture.StateDir, "etcd/ca.key")));
        // Leaves re-issued then are capped at the CA's end instead of outliving it.
        var leaf = fixture.Ensure(site, now: start.AddDays(3600)).Get("nodes/k8s-01/etcd/server").Certificate!;
        Assert.True(leaf.NotAfter.ToUniversalTime() <= start.AddDays(3650).UtcDateTime);
    }

    [ToolFact("openssl")]
    public void GivenTheAlgorithmChanges_WhenRebuilt_ThenLeavesAreReissuedWithTheNewAlgorithmUnderTheOldCas()
    {
        using var fixture = new PkiFixture();
        fixture.Ensure(PkiFixture.Site(algorithm: "ecdsa-p256"));
        var ca = File.ReadAllBytes(Path.Combine(fixture.StateDir, "ca.crt"));

        var pki = fixture.Ensure(PkiFixture.Site(algorithm: "rsa-2048"));

        Assert.Equal("rsa-2048", Keys.AlgorithmName(pki.Get("nodes/k8s-04/kubelet").Certificate!));
        Assert.Equal(ca, File.ReadAllBytes(Path.Combine(fixture.StateDir, "ca.crt")));
        var (code, output, _) = PkiFixture.Openssl("verify", "-CAfile", Path.Combine(fixture.StateDir, "ca.crt"), Path.Combine(fixture.StateDir, "nodes/k8s-04/kubelet.crt"));
        Assert.True(code == 0, output);
    }

    [Fact]
    public void GivenATruncatedKey_WhenRebuilt_ThenTheErrorNamesTheFileAndNothingIsOverwritten()
    {
        using var fixture = new PkiFixture();
        var site = PkiFixture.Site();
        fixture.Ensure(site);
        var key = Path.Combine(fixture.StateDir, "nodes/k8s-01/apiserver.key");
        var text = File.ReadAllText(key);
        File.WriteAllText(key, text[..(text.Length / 2)]);
        var before = fixture.Snapshot();

        var error = Assert.Throws<UserInputException>(() => fixture.Ensure(site));

        Assert.Contains(key, error.Message);
        Assert.Contains("truncated", error.Message);
        Assert.Empty(PkiFixture.Changed(before, fixture.Snapshot()));
    }

    [Fact]
    public void GivenACertificateThatDoesNotMatchItsKey_WhenRebuilt_ThenTheErrorNamesBothFiles()
    {
        using var fixture = new PkiFixture();
        var site = PkiFixture.Site();
        fixture.Ensure(site);
        File.Copy(Path.Combine(fixture.StateDir, "admin.key"), Path.Combine(fixture.StateDir, "scheduler.key"), overwrite: true);
        var before = fixture.Snapshot();

        var error = Assert.Throws<UserInputException>(() => fixture.Ensure(site));

        Assert.Contains(Path.Combine(fixture.StateDir, "scheduler.crt") + ": does not match its private key " + Path.Combine(fixture.StateDir, "scheduler.key"), error.Message);
        Assert.Empty(PkiFixture.Changed(before, fixture.Snapshot()));
    }

    [Fact]
    public void GivenACaMissingWhileItsLeavesExist_WhenRebuilt_ThenTheErrorNamesTheCaAndNoNewCaIsMade()
    {
        using var fixture = new PkiFixture();
        var site = PkiFixture.Site();
        fixture.Ensure(site);
        File.Delete(Path.Combine(fixture.StateDir, "etcd/ca.crt"));
        File.Delete(Path.Combine(fixture.StateDir, "etcd/ca.key"));

        var error = Assert.Throws<UserInputException>(() => fixture.Ensure(site));

        Assert.Contains(Path.Combine(fixture.StateDir, "etcd/ca.crt") + ": CA missing", error.Message);
        Assert.False(File.Exists(Path.Combine(fixture.StateDir, "etcd/ca.crt")));
    }

    [Fact]
    public void GivenOnlyACaKeyIsMissing_WhenRebuilt_ThenTheErrorNamesTheMissingKey()
    {
        using var fixture = new PkiFixture();
        var site = PkiFixture.Site();
        fixture.Ensure(site);
        File.Delete(Path.Combine(fixture.StateDir, "ca.key"));

        var error = Assert.Throws<UserInputException>(() => fixture.Ensure(site));

        Assert.StartsWith(Path.Combine(fixture.StateDir, "ca.key") + ": missing while " + Path.Combine(fixture.StateDir, "ca.crt"), error.Message);
    }

    [Fact]
    public void GivenALeafSignedByAnotherCa_WhenRebuilt_ThenTheErrorNamesTheLeaf()
    {
        using var fixture = new PkiFixture();
        using var other = new PkiFixture();
        var site = PkiFixture.Site();
        fixture.Ensure(site);
        other.Ensure(site);
        foreach (var ext in new[] { ".crt", ".key" })
            File.Copy(Path.Combine(other.StateDir, "controller-manager" + ext), Path.Combine(fixture.StateDir, "controller-manager" + ext), overwrite: true);

        var error = Assert.Throws<UserInputException>(() => fixture.Ensure(site));

        Assert.Contains(Path.Combine(fixture.StateDir, "controller-manager.crt") + ": was not issued by " + Path.Combine(fixture.StateDir, "ca.crt"), error.Message);
    }

    [Fact]
    public void GivenTwoClusters_WhenIssued_ThenTheirCaSubjectsDiffer()
    {
        using var a = new PkiFixture();
        using var b = new PkiFixture();
        var site = PkiFixture.Site();

        var first = a.Ensure(site).Get("ca").Certificate!;
        var second = b.Ensure(site).Get("ca").Certificate!;

        Assert.NotEqual(first.Subject, second.Subject);
        Assert.Contains("O=lab", first.Subject);
    }
}
