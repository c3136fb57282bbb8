using Xunit;
using Bundler.Pipeline;
using Bundler.Layout;
using Bundler.Packaging;

namespace Bundler.Tests.Packaging;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PackageStepTests : IDisposable
{
    private readonly BundleFixture _fx = new();

    public PackageStepTests() => Environment.SetEnvironmentVariable("SOURCE_DATE_EPOCH", BundleFixture.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public void Dispose() => _fx.Dispose();

    [Fact]
    public async Task GivenTheSameStateTwice_WhenBuilt_ThenEveryOutputIsByteIdentical()
    {
        await _fx.BuildAsync(_fx.Out("a"));
        await _fx.BuildAsync(_fx.Out("b"));

        // ECDSA signatures are randomised: SHA256SUMS.sig may differ between folders; everything it signs may not.
        foreach (var file in Directory.EnumerateFiles(_fx.Out("a")).Select(Path.GetFileName).Where(f => f != "SHA256SUMS.sig"))
            Assert.True(File.ReadAllBytes(Path.Combine(_fx.Out("a"), file!)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(_fx.Out("b"), file!))), $"{file} differs");
    }

    [Fact]
    public async Task GivenAWarmRebuildWithNothingChanged_ThenNoBundleIsRewritten()
    {
        await _fx.BuildAsync();
        var run = Path.Combine(_fx.Out(), "w1.run");
        var written = File.GetLastWriteTimeUtc(run);

        await _fx.BuildAsync();

        Assert.Equal(written, File.GetLastWriteTimeUtc(run));
    }

    [Fact]
    public async Task GivenABundleChangedInPlace_WhenRebuilt_ThenItIsRewrittenNotTrusted()
    {
        await _fx.BuildAsync();
        var run = Path.Combine(_fx.Out(), "w1.run");
        var bytes = File.ReadAllBytes(run);
        bytes[^100] ^= 1;
        File.WriteAllBytes(run, bytes);

        await _fx.BuildAsync();

        Assert.Empty(Bundler.Inspection.BundleReader.Open(run).Problems());
        Assert.All(Bundler.Inspection.Verifier.Verify(_fx.Out()), c => Assert.True(c.Ok, c.Subject + ": " + c.Detail));
    }

    [Fact]
    public async Task GivenABundleCorruptedInPlaceWithItsSizeAndMtimeKept_WhenRebuiltWarm_ThenItIsRewrittenNotTrusted()
    {
        await _fx.BuildAsync();
        var run = Path.Combine(_fx.Out(), "w1.run");
        var mtime = File.GetLastWriteTimeUtc(run);
        using (var stream = new FileStream(run, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = stream.Length - 100;
            var b = stream.ReadByte();
            stream.Position = stream.Length - 100;
            stream.WriteByte((byte)(b ^ 1));
        }
        File.SetLastWriteTimeUtc(run, mtime);

        await _fx.BuildAsync();

        Assert.Empty(Bundler.Inspection.BundleReader.Open(run).Problems());
        Assert.All(Bundler.Inspection.Verifier.Verify(_fx.Out()), c => Assert.True(c.Ok, c.Subject + ": " + c.Detail));
    }

    [Fact]
    public async Task GivenABundleChangedBetweenPackageAndSign_WhenSigning_ThenNoSha256SumsIsSignedThatDoesNotMatch()
    {
        var run = Path.Combine(_fx.Out(), "w1.run");

        var error = await Assert.ThrowsAsync<IntegrityException>(() => _fx.BuildAsync(beforeSign: () =>
        {
            var mtime = File.GetLastWriteTimeUtc(run);
            using (var stream = new FileStream(run, FileMode.Open, FileAccess.ReadWrite))
            {
                stream.Position = stream.Length - 100;
                var b = stream.ReadByte();
                stream.Position = stream.Length - 100;
                stream.WriteByte((byte)(b ^ 1));
            }
            File.SetLastWriteTimeUtc(run, mtime);
        }));

        Assert.Contains("w1.run", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_fx.Out(), "SHA256SUMS")));
    }

    [Fact]
    public async Task GivenABuild_ThenBundlesAreOwnerOnlyAndTheRestOfTheFolderIsReadable()
    {
        await _fx.BuildAsync();
        // An older build's bundle, world-readable, that the next build keeps because nothing in it changed.
        File.SetUnixFileMode(Path.Combine(_fx.Out(), "w2.run"), NodeFile.Executable);
        await _fx.BuildAsync();

        foreach (var run in Directory.EnumerateFiles(_fx.Out(), "*.run"))
            Assert.Equal(NodeFile.SecretDir, File.GetUnixFileMode(run));
        foreach (var name in new[] { "manifest.json", "SHA256SUMS", "SHA256SUMS.sig", "signing.pub" })
            Assert.Equal(NodeFile.Public, File.GetUnixFileMode(Path.Combine(_fx.Out(), name)));
    }

    [ToolFact("tar")]
    public async Task GivenAPayload_WhenGnuTarListsIt_ThenEntriesAreRootOwnedWithFixedMtimeAndExplicitModes()
    {
        await _fx.BuildAsync();
        var run = Path.Combine(_fx.Out(), "m1.run");
        var reader = Bundler.Inspection.BundleReader.Open(run);
        var payload = Path.Combine(_fx.Root, "m1.tar.gz");
        using (var source = reader.OpenPayload())
        using (var target = File.Create(payload))
            source.CopyTo(target);

        // No --ignore-zeros: only the last gzip member carries the end-of-archive blocks.
        var list = BundleFixture.Run("tar", ["--numeric-owner", "--full-time", "-tvzf", payload], new Dictionary<string, string> { ["TZ"] = "UTC" });

        Assert.True(list.Code == 0, list.Err);
        Assert.Empty(list.Err);
        var lines = list.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, l => Assert.Contains(" 0/0 ", l, StringComparison.Ordinal));
        Assert.All(lines, l => Assert.Contains("2026-01-01 00:00:00", l, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("-rw------- ", StringComparison.Ordinal) && l.EndsWith(" etc/kubernetes/pki/apiserver.key", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("drwx------ ", StringComparison.Ordinal) && l.EndsWith(" etc/kubernetes/pki/", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("-rwxr-xr-x ", StringComparison.Ordinal) && l.EndsWith(" opt/k8s/bin/etcd", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("-rw-r--r-- ", StringComparison.Ordinal) && l.EndsWith(" etc/kubernetes/pki/ca.crt", StringComparison.Ordinal));
        // The gzip header carries no timestamp (bytes 4-7 of every member are zero).
        var bytes = File.ReadAllBytes(payload);
        Assert.Equal(new byte[] { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0 }, bytes[..8]);
    }

    [ToolFact("tar")]
    public async Task GivenTwoWorkers_WhenPackaged_ThenTheSharedBinariesAreCompressedOnceAndReusedWarm()
    {
        await _fx.BuildAsync();
        var first = _fx.Reporter;
        var members = Directory.EnumerateFiles(Path.Combine(_fx.Cache, "packaging"), "*.gz").Count();
        await _fx.BuildAsync(_fx.Out("again"));
        var second = _fx.Reporter;

        // m1 ships 18 binaries (a master is a node too), each worker 13 of them, and all three the same images-amd64.tar:
        // 19 members, not 19 + 14 + 14.
        Assert.Equal(19, members);
        Assert.Contains(first.Lines, l => l.Contains("0 reused, 19 written", StringComparison.Ordinal));
        Assert.Contains(second.Lines, l => l.Contains("19 reused, 0 written", StringComparison.Ordinal));
        // Each worker's payload holds every byte of each shared member verbatim.
        var kubelet = File.ReadAllBytes(Directory.EnumerateFiles(Path.Combine(_fx.Cache, "packaging")).Single(f => Members(f).Contains("opt/k8s/bin/kubelet")));
        foreach (var node in new[] { "w1", "w2" })
            Assert.True(File.ReadAllBytes(Path.Combine(_fx.Out(), node + ".run")).AsSpan().IndexOf(kubelet) > 0);
    }

    private static string Members(string gz) => BundleFixture.Run("tar", ["-tzf", gz]).Out;

    [ToolFact("tar", "gzip")]
    public async Task GivenNodesThatRunAKubelet_WhenPackaged_ThenEachCarriesTheImageArchiveStoredOnceAndVerbatim()
    {
        await _fx.BuildAsync();
        var fetch = _fx.Last!.Fetch!;
        var manifest = BundleManifest.Parse(File.ReadAllBytes(Path.Combine(_fx.Out(), "manifest.json")), "manifest.json");
        var path = NodePaths.ImageArchive(Bundler.Configuration.Arch.Amd64);
        // What the archive must be: the writer's bytes for the fetched images, independently of the package step.
        using var expected = new MemoryStream();
        await ImageArchiveWriter.WriteAsync(expected, fetch.Images, Bundler.Configuration.Arch.Amd64, DateTimeOffset.FromUnixTimeSeconds(BundleFixture.Epoch));
        var expectedSha = PayloadWriter.Sha256Hex(expected.ToArray());

        foreach (var node in new[] { "m1", "w1", "w2" })
        {
            // The field engineer's --extract: the payload is one tar.gz that stock tar reads without options.
            var dir = Path.Combine(_fx.Root, "x-" + node);
            var extract = BundleFixture.Run("bash", [Path.Combine(_fx.Out(), node + ".run"), "--extract", dir]);
            Assert.True(extract.Code == 0, extract.Err);
            Assert.Equal(expectedSha, PayloadWriter.Sha256Hex(dir + path));
            var record = manifest.Nodes.Single(n => n.Name == node);
            Assert.Contains(record.Files, f => f.Path == path && f.Sha256 == expectedSha && f.Mode == "0644" && f.Kind == "images" && f.Size == expected.Length);
            Assert.Equal(["pause", "coredns"], record.Images!.Select(i => i.Name));
            Assert.All(record.Images!, i => Assert.Equal(fetch.ImageFor(i.Name).Pin.Digest, i.Digest));
            var layout = BundleFixture.Run("tar", ["-tf", dir + path]).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains("index.json", layout);
            Assert.Contains("oci-layout", layout);
        }
        Assert.Contains(_fx.Reporter.Lines, l => l.Contains("store 1 image archive(s)", StringComparison.Ordinal));
        // One member for all three nodes: stored blocks (5 bytes per 64 KiB), not recompressed; gzip itself checks its CRC.
        var member = Directory.EnumerateFiles(Path.Combine(_fx.Cache, "packaging"), "*.gz").Single(f => Members(f).Contains(path.TrimStart('/'), StringComparison.Ordinal));
        var size = new FileInfo(member).Length;
        Assert.InRange(size, expected.Length + 512, expected.Length + 1024 + 18 + 5 * (expected.Length / StoredGzipStreamTests.Block + 2));
        Assert.Equal(0, BundleFixture.Run("gzip", ["-t", member]).Code);
        var bytes = File.ReadAllBytes(member);
        foreach (var node in new[] { "m1", "w1", "w2" })
            Assert.True(File.ReadAllBytes(Path.Combine(_fx.Out(), node + ".run")).AsSpan().IndexOf(bytes) > 0, $"{node}.run lacks the shared member");
    }

    [Fact]
    public async Task GivenAManifest_ThenItRecordsEveryFileCertificateKeyAndUnitPerNode()
    {
        await _fx.BuildAsync();
        var manifest = BundleManifest.Parse(File.ReadAllBytes(Path.Combine(_fx.Out(), "manifest.json")), "manifest.json");

        Assert.Equal("lab", manifest.Site.Name);
        Assert.Equal(BundleFixture.Epoch, manifest.SourceDateEpoch);
        Assert.Equal(["cni-plugins", "containerd", "crictl", "etcd", "kubernetes-server", "nginx", "runc"], manifest.Artifacts.Select(a => a.Name).Order());
        Assert.Equal(_fx.Last!.Nginx!.For(Bundler.Configuration.Arch.Amd64).Provenance.BinarySha256, Assert.Single(manifest.KubeNginx!).BinarySha256);
        var m1 = manifest.Nodes.Single(n => n.Name == "m1");
        Assert.Equal(["containerd", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-nginx", "kbundle-images", "kubelet", "kube-proxy",
            "kbundle-etcd-backup.timer", "kbundle-cert-check.timer"], m1.Units);
        Assert.Contains(m1.Files, f => f.Path == "/etc/kubernetes/pki/apiserver.key" && f.Mode == "0600" && f.Owner == "root:root");
        Assert.Contains(m1.Files, f => f.Path == "/opt/k8s/bin/etcd" && f.Mode == "0755" && f.Sha256 == PayloadWriter.Sha256Hex("/usr/bin/ls"));
        Assert.Contains("/etc/kubernetes/pki/apiserver.key", m1.PrivateKeys);
        Assert.Contains(m1.Certificates, c => c.Path == "/etc/kubernetes/pki/apiserver.crt" && c.Sans.Contains("IP:10.88.0.11"));
        Assert.Equal(PayloadWriter.Sha256Hex(Path.Combine(_fx.Out(), "m1.run")), m1.Bundle!.Sha256);
        var w1 = manifest.Nodes.Single(n => n.Name == "w1");
        Assert.DoesNotContain(w1.Files, f => f.Path.Contains("apiserver", StringComparison.Ordinal) || f.Path.Contains("etcd", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GivenASiteAddOn_WhenPackaged_ThenTheFirstMasterCarriesItsManifestAndAppliesItAfterCoreDnsInSiteOrder()
    {
        var dashboard = "apiVersion: v1\nkind: Namespace\nmetadata: {name: dashboard}\n"u8.ToArray();
        Directory.CreateDirectory(Path.Combine(_fx.Root, "addons"));
        File.WriteAllBytes(Path.Combine(_fx.Root, "addons", "dashboard.yaml"), dashboard);
        _fx.SiteYaml += $"addons:\n  - name: coredns\n  - name: dashboard\n    manifest: {{ file: addons/dashboard.yaml, sha256: {BundleFixture.Sha256(dashboard)} }}\n";

        await _fx.BuildAsync();

        var manifest = BundleManifest.Parse(File.ReadAllBytes(Path.Combine(_fx.Out(), "manifest.json")), "manifest.json");
        var view = Bundler.Inspection.BundleDiff.Load(Path.Combine(_fx.Out(), "m1.run")).Single();
        var file = view.Files.Single(f => f.Path == NodePaths.Addon("dashboard"));
        Assert.Equal(dashboard, file.Content);
        Assert.Equal("0600", file.Mode);
        Assert.Contains(view.Files, f => f.Path == NodePaths.Addon("coredns"));
        Assert.Equal("/etc/kubernetes/bootstrap/cluster-admins.yaml /etc/kubernetes/bootstrap/apiserver-kubelet-client.yaml /etc/kubernetes/addons/coredns.yaml /etc/kubernetes/addons/dashboard.yaml",
            view.Header[HeaderKeys.BootstrapManifests]);
        Assert.Equal(["coredns", "dashboard"], manifest.Addons!.Select(a => a.Name));
        Assert.Equal(("built-in", null), (manifest.Addons![0].Source, manifest.Addons[0].Sha256));
        Assert.Equal(("addons/dashboard.yaml", BundleFixture.Sha256(dashboard)), (manifest.Addons[1].Source, manifest.Addons[1].Sha256));
        foreach (var worker in new[] { "w1", "w2" })
        {
            var other = Bundler.Inspection.BundleDiff.Load(Path.Combine(_fx.Out(), worker + ".run")).Single();
            Assert.DoesNotContain(other.Files, f => f.Path.StartsWith(NodePaths.AddonsDir, StringComparison.Ordinal));
            Assert.Equal("", other.Header[HeaderKeys.BootstrapManifests]);
        }
    }

    [Fact]
    public void GivenNoSourceDateEpoch_ThenOneIsStoredInStateAndReused()
    {
        Environment.SetEnvironmentVariable("SOURCE_DATE_EPOCH", null);
        try
        {
            var first = Bundler.Pki.SourceDateEpoch.Ensure(_fx.State);
            var second = Bundler.Pki.SourceDateEpoch.Ensure(_fx.State);
            Assert.Equal(first, second);
            Assert.Equal(first.ToString(System.Globalization.CultureInfo.InvariantCulture), File.ReadAllText(Path.Combine(_fx.State, Bundler.Pki.SourceDateEpoch.File)).Trim());
        }
        finally
        {
            Environment.SetEnvironmentVariable("SOURCE_DATE_EPOCH", BundleFixture.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [ToolFact("shellcheck", "bash")]
    public async Task GivenTheGeneratedHeader_ThenShellcheckAndBashNAreClean()
    {
        await _fx.BuildAsync();
        var reader = Bundler.Inspection.BundleReader.Open(Path.Combine(_fx.Out(), "m1.run"));
        var header = Path.Combine(_fx.Root, "header.sh");
        File.WriteAllBytes(header, reader.HeaderBytes);

        var shellcheck = BundleFixture.Run("shellcheck", ["-s", "bash", header]);
        var syntax = BundleFixture.Run("bash", ["-n", header]);

        Assert.True(shellcheck.Code == 0, shellcheck.Out);
        Assert.True(syntax.Code == 0, syntax.Err);
    }

    [Fact]
    public void GivenAKeyFolder_ThenItIs0700AndOtherFolders0755()
    {
        var dirs = NodePayload.Directories([
            NodeFile.Text("/etc/kubernetes/pki/etcd/server.key", "k", FileKind.PrivateKey),
            NodeFile.Text("/etc/kubernetes/admin.conf", "c", FileKind.Kubeconfig),
        ]);
        Assert.Equal(NodeFile.SecretDir, dirs["/etc/kubernetes/pki/etcd"]);
        Assert.Equal(NodeFile.Executable, dirs["/etc/kubernetes"]);
        Assert.Equal(NodeFile.Executable, dirs["/etc"]);
    }
}
