using System.Globalization;
using System.Text.Json;
using Bundler.Cli;
using Bundler.Inspection;
using Bundler.Layout;
using Bundler.Tests.Packaging;
using Xunit;

namespace Bundler.Tests.Inspection;

public sealed class InspectDiffTests : IDisposable
{
    private readonly BundleFixture _fx = new();

    public InspectDiffTests() => Environment.SetEnvironmentVariable("SOURCE_DATE_EPOCH", BundleFixture.Epoch.ToString(CultureInfo.InvariantCulture));

    public void Dispose() => _fx.Dispose();

    private static (int Code, string Out, string Err) Kbundle(params string[] args)
    {
        var result = Tests.Cli.CliRunner.Run(args);
        return (result.ExitCode, result.Out, result.Error);
    }

    [Fact]
    public async Task GivenARunFile_WhenInspectedAsJson_ThenItListsComponentsFilesCertificatesKeysAndUnits()
    {
        await _fx.BuildAsync();

        var (code, stdout, stderr) = Kbundle("inspect", Path.Combine(_fx.Out(), "m1.run"), "--json");

        Assert.True(code == 0, stderr);
        var node = JsonDocument.Parse(stdout).RootElement[0];
        Assert.Equal("lab", node.GetProperty("site").GetString());
        Assert.Equal("m1", node.GetProperty("node").GetString());
        Assert.Equal("etcd,master", node.GetProperty("roles").GetString());
        Assert.Equal("kubernetes-server", node.GetProperty("components")[0].GetProperty("name").GetString());
        Assert.Contains(node.GetProperty("files").EnumerateArray(), f => f.GetProperty("path").GetString() == "/etc/kubernetes/pki/apiserver.key" && f.GetProperty("mode").GetString() == "0600");
        Assert.Contains(node.GetProperty("certificates").EnumerateArray(), c => c.GetProperty("path").GetString() == "/etc/kubernetes/admin.conf" && c.GetProperty("subject").GetString()!.Contains("CN=kubernetes-admin", StringComparison.Ordinal));
        Assert.Contains(node.GetProperty("privateKeys").EnumerateArray(), k => k.GetString() == "/etc/kubernetes/pki/etcd/server.key");
        Assert.Equal(["containerd", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-nginx", "kbundle-images", "kubelet", "kube-proxy",
            "kbundle-etcd-backup.timer", "kbundle-cert-check.timer"],
            node.GetProperty("units").EnumerateArray().Select(u => u.GetString()));
        var images = node.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal(["pause", "coredns"], images.Select(i => i.GetProperty("name").GetString()));
        var lockFile = Bundler.Configuration.LockFile.Load(_fx.LockPath);
        Assert.Equal(lockFile.FindImage("pause")!.Digest, images[0].GetProperty("digest").GetString());
        Assert.Equal("registry.stand-in.invalid/pause:3.10.2", images[0].GetProperty("ref").GetString());
        Assert.Equal(_fx.Last!.Fetch!.ImageFor("pause").For(Bundler.Configuration.Arch.Amd64).Manifest.Digest, images[0].GetProperty("manifestDigest").GetString());
    }

    [Fact]
    public async Task GivenAnArtifactsFolder_WhenInspected_ThenEveryNodeIsShown()
    {
        await _fx.BuildAsync();

        var (code, stdout, _) = Kbundle("inspect", _fx.Out());

        Assert.Equal(0, code);
        Assert.Contains("m1.run: site lab, node m1 (10.88.0.11), roles etcd,master", stdout, StringComparison.Ordinal);
        Assert.Contains("w2.run: site lab, node w2", stdout, StringComparison.Ordinal);
        Assert.Contains("units in start order: containerd kube-nginx kbundle-images kubelet kube-proxy", stdout, StringComparison.Ordinal);
        var pause = _fx.Last!.Fetch!.ImageFor("pause");
        Assert.Contains("  images (2, ", stdout, StringComparison.Ordinal);
        Assert.Contains($"    pause registry.stand-in.invalid/pause:3.10.2 index {pause.Pin.Digest} amd64 manifest {pause.For(Bundler.Configuration.Arch.Amd64).Manifest.Digest} " +
                        $"{pause.BlobsFor(Bundler.Configuration.Arch.Amd64).Sum(b => b.Size)} bytes", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenTwoBuildsFromTheSameState_WhenDiffed_ThenNothingIsReported()
    {
        await _fx.BuildAsync(_fx.Out("a"));
        await _fx.BuildAsync(_fx.Out("b"));

        var (code, stdout, _) = Kbundle("diff", _fx.Out("a"), _fx.Out("b"));

        Assert.Equal(0, code);
        Assert.Equal("no differences", stdout.Trim());
    }

    [Fact]
    public async Task GivenANewerBuild_WhenDiffed_ThenBinariesConfigsAndCertificatesArePerNode()
    {
        await _fx.BuildAsync(_fx.Out("old"));
        // A newer kubelet; the apiserver gains a name (re-issued, now for two years); kube-proxy moves to ipvs (more modules).
        _fx.ReplaceUpstream("kubelet", "/usr/bin/du");
        _fx.SiteYaml = _fx.SiteYaml.Replace("proxyMode: iptables", "proxyMode: ipvs", StringComparison.Ordinal)
            .Replace("pki:\n  keyAlgorithm: ecdsa-p256\n", "apiServer:\n  extraSans: [api.lab.example]\npki:\n  keyAlgorithm: ecdsa-p256\n  leafValidityDays: 730\n", StringComparison.Ordinal);
        await _fx.BuildAsync(_fx.Out("new"));

        var (code, stdout, _) = Kbundle("diff", _fx.Out("old"), _fx.Out("new"));

        Assert.Equal(1, code);
        Assert.Contains("== w1\n", stdout, StringComparison.Ordinal);
        Assert.Contains("binary changed: /opt/k8s/bin/kubelet sha256 ", stdout, StringComparison.Ordinal);
        Assert.Contains("--- a/etc/modules-load.d/kubernetes.conf\n+++ b/etc/modules-load.d/kubernetes.conf\n@@ -1,3 +1,8 @@\n", stdout, StringComparison.Ordinal);
        Assert.Contains(" br_netfilter\n+ip_vs\n+ip_vs_rr\n", stdout, StringComparison.Ordinal);
        Assert.Contains("certificate re-issued: /etc/kubernetes/pki/apiserver.crt CN=kube-apiserver serial ", stdout, StringComparison.Ordinal);
        Assert.Contains("SANs added DNS:api.lab.example; expiry 2027-01-01T00:00:00Z -> 2028-01-01T00:00:00Z", stdout, StringComparison.Ordinal);
        Assert.Contains("private key replaced: /etc/kubernetes/pki/apiserver.key", stdout, StringComparison.Ordinal);
        // A master is a node too: its kubelet changed as well; its apiserver certificate, not a worker's, was re-issued.
        var m1 = stdout[stdout.IndexOf("== m1", StringComparison.Ordinal)..stdout.IndexOf("== w1", StringComparison.Ordinal)];
        Assert.Contains("binary changed: /opt/k8s/bin/kubelet sha256 ", m1, StringComparison.Ordinal);
        Assert.DoesNotContain("apiserver.crt", stdout[stdout.IndexOf("== w1", StringComparison.Ordinal)..], StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenANewerImage_WhenDiffed_ThenEveryNodeNamesTheImageWithBothDigestsAndItsArchive()
    {
        await _fx.BuildAsync(_fx.Out("old"));
        var oldPause = _fx.Last!.Fetch!.ImageFor("pause").Pin.Digest;
        _fx.ReplaceImages("/usr/bin/du");
        await _fx.BuildAsync(_fx.Out("new"));
        var newPause = _fx.Last!.Fetch!.ImageFor("pause").Pin.Digest;

        var (code, stdout, _) = Kbundle("diff", _fx.Out("old"), _fx.Out("new"));

        Assert.Equal(1, code);
        Assert.NotEqual(oldPause, newPause);
        foreach (var node in new[] { "m1", "w1", "w2" })
        {
            var section = stdout[stdout.IndexOf($"== {node}", StringComparison.Ordinal)..];
            Assert.Contains($"image changed: pause registry.stand-in.invalid/pause:3.10.2@{oldPause} -> registry.stand-in.invalid/pause:3.10.2@{newPause} (amd64 manifest ", section, StringComparison.Ordinal);
            Assert.Contains("binary changed: /opt/k8s/images/images-amd64.tar sha256 ", section, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task GivenRenewedCredentialsAndANewEncryptionKey_WhenDiffed_ThenSecretsAreNamedAsChangedAndNeverPrinted()
    {
        await _fx.BuildAsync(_fx.Out("old"));
        File.Delete(Path.Combine(_fx.State, "encryption.key"));
        await _fx.BuildAsync(_fx.Out("new"), renew: true);

        var (code, stdout, stderr) = Kbundle("diff", _fx.Out("old"), _fx.Out("new"));

        Assert.True(code is 0 or 1, stderr);
        Assert.Contains("secret changed: /etc/kubernetes/admin.conf line ", stdout, StringComparison.Ordinal);
        Assert.Contains("client-key-data (value not shown)", stdout, StringComparison.Ordinal);
        Assert.Contains("secret changed: /etc/kubernetes/encryption-config.yaml line ", stdout, StringComparison.Ordinal);
        // Not one line of any private key or of the encryption key, old or new, in any form the files hold them.
        var secrets = new List<string>();
        foreach (var dir in new[] { _fx.Out("old"), _fx.Out("new") })
            foreach (var view in BundleDiff.Load(dir))
                foreach (var file in view.Files.Where(f => f.Content is not null))
                    secrets.AddRange(Secrets.Redact(System.Text.Encoding.UTF8.GetString(file.Content!)).Found.Select(f => f.Value));
        Assert.NotEmpty(secrets);
        foreach (var secret in secrets.SelectMany(s => s.Split('\n')).Select(l => l.Trim()).Where(l => l.Length >= 16 && !l.StartsWith("-----", StringComparison.Ordinal)))
            Assert.DoesNotContain(secret, stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY-----\n", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenReissuedCertificatesAndANewNode_WhenDiffed_ThenCertificatesComeFirstWithoutPemAndHostsAndHeaderChangesAreNamed()
    {
        await _fx.BuildAsync(_fx.Out("old"));
        _fx.SiteYaml = _fx.SiteYaml.Replace("pki:\n  keyAlgorithm: ecdsa-p256\n", "apiServer:\n  extraSans: [api.lab.example]\npki:\n  keyAlgorithm: ecdsa-p256\n", StringComparison.Ordinal)
            + "  - name: w3\n    ip: 10.88.0.23\n    roles: [worker]\n";
        await _fx.BuildAsync(_fx.Out("new"));

        var (code, stdout, stderr) = Kbundle("diff", _fx.Out("old"), _fx.Out("new"));

        Assert.True(code == 1, stderr);
        Assert.DoesNotContain("-----BEGIN CERTIFICATE", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("LS0tLS1CRUdJTi", stdout, StringComparison.Ordinal);
        var m1 = stdout[stdout.IndexOf("== m1\n", StringComparison.Ordinal)..stdout.IndexOf("== w1\n", StringComparison.Ordinal)];
        Assert.Contains("/etc/hosts: + 10.88.0.23 w3", m1, StringComparison.Ordinal);
        Assert.Contains("build serial: 1 -> 2", m1, StringComparison.Ordinal);
        var certificate = m1.IndexOf("certificate re-issued: /etc/kubernetes/pki/apiserver.crt", StringComparison.Ordinal);
        Assert.True(certificate > 0, m1);
        Assert.True(m1.IndexOf("--- a/", StringComparison.Ordinal) is -1 || m1.IndexOf("--- a/", StringComparison.Ordinal) > certificate, m1);
        Assert.Contains("== w3\nnode added", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenANewerBuild_WhenDiffedWithStat_ThenEachNodeIsOneLineOfCounts()
    {
        await _fx.BuildAsync(_fx.Out("old"));
        _fx.ReplaceUpstream("kubelet", "/usr/bin/du");
        await _fx.BuildAsync(_fx.Out("new"));

        var (code, stdout, stderr) = Kbundle("diff", "--stat", _fx.Out("old"), _fx.Out("new"));

        Assert.True(code == 1, stderr);
        Assert.Matches(@"(?m)^w1 +changed: .*1 binary", stdout);
        Assert.DoesNotContain("@@", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("sha256", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenANewerBuild_WhenDiffedAsJson_ThenEachChangeIsAnObject()
    {
        await _fx.BuildAsync(_fx.Out("old"));
        _fx.ReplaceUpstream("kubelet", "/usr/bin/du");
        await _fx.BuildAsync(_fx.Out("new"));

        var (code, stdout, stderr) = Kbundle("diff", "--json", _fx.Out("old"), _fx.Out("new"));

        Assert.True(code == 1, stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.True(json.RootElement.GetProperty("differ").GetBoolean());
        var w1 = json.RootElement.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("node").GetString() == "w1");
        Assert.Equal("changed", w1.GetProperty("status").GetString());
        Assert.Contains(w1.GetProperty("changes").EnumerateArray(), c => c.GetProperty("kind").GetString() == "binary" && c.GetProperty("path").GetString() == "/opt/k8s/bin/kubelet");
    }

    [Fact]
    public async Task GivenAnEtcdMastersBundle_WhenInspected_ThenKubeNginxAndItsSourceAreComponentsAndEverySecretIsCounted()
    {
        await _fx.BuildAsync();

        var (code, stdout, stderr) = Kbundle("inspect", Path.Combine(_fx.Out(), "m1.run"));

        Assert.True(code == 0, stderr);
        var nginx = _fx.Last!.Fetch!.Artifacts.Single(a => a.Name == "nginx");
        Assert.Contains($"kube-nginx {nginx.Version} amd64: built from nginx {nginx.Version} source {nginx.Algorithm}:{nginx.Checksum}", stdout, StringComparison.Ordinal);
        // A master is a node too (SPEC §7): its kubelet's and kube-proxy's kubeconfigs are among them.
        Assert.Contains("kubeconfigs with embedded keys (6): /etc/kubernetes/admin.conf /etc/kubernetes/controller-manager.conf /etc/kubernetes/kube-proxy.conf " +
                        "/etc/kubernetes/kubelet.conf /etc/kubernetes/scheduler.conf /etc/kubernetes/super-admin.conf", stdout, StringComparison.Ordinal);
        Assert.Contains("encryption config: /etc/kubernetes/encryption-config.yaml", stdout, StringComparison.Ordinal);
        Assert.Matches(@"secrets \(\d+\): ", stdout);
    }

    [Fact]
    public async Task GivenAnArtifactsFolder_WhenInspected_ThenTheReportStartsWithTheSiteAndTheSignature()
    {
        await _fx.BuildAsync();

        var (code, stdout, stderr) = Kbundle("inspect", _fx.Out());
        File.WriteAllText(Path.Combine(_fx.Out(), "SHA256SUMS.sig"), "not a signature");
        var broken = Kbundle("inspect", _fx.Out());

        Assert.True(code == 0, stderr);
        var first = stdout.Split('\n')[0];
        Assert.StartsWith($"site lab: 3 bundles (m1, w1, w2), build serial 1", first, StringComparison.Ordinal);
        Assert.Contains("signature: verified", stdout.Split('\n')[1], StringComparison.Ordinal);
        Assert.Contains("signature: FAILED", broken.Out.Split('\n')[1], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a\nb\nc\n", "a\nB\nc\n", "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n")]
    [InlineData("", "x\n", "@@ -0,0 +1,1 @@\n+x\n")]
    [InlineData("same\n", "same\n", "")]
    public void GivenTwoTexts_ThenTheUnifiedDiffMatchesDiffU(string before, string after, string hunks)
    {
        var diff = UnifiedDiff.Render(before, after, "a", "b");
        Assert.Equal(hunks.Length == 0 ? "" : "--- a\n+++ b\n" + hunks, diff);
    }
}
