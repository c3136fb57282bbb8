using System.Text.RegularExpressions;
using Bundler.Layout;
using Bundler.Render;
using Xunit;

namespace Bundler.Tests.Render;

[Collection(RenderCollection.Name)]
public sealed partial class RenderStepTests(RenderFixture fixture)
{
    [Fact]
    public void GivenTheExampleSite_WhenRendered_ThenEveryNodeMatchesItsGoldenFiles()
    {
        var update = Environment.GetEnvironmentVariable("KBUNDLE_UPDATE_GOLDEN") == "1";
        var actualRoot = Directory.CreateTempSubdirectory("kbundle-golden-").FullName;
        try
        {
            foreach (var tree in fixture.Result.Nodes)
                NodeTreeWriter.Write(tree, Path.Combine(actualRoot, tree.Node), Redact);
            if (update)
            {
                var source = Path.Combine(SourceDir(), "Expectations", "example");
                if (Directory.Exists(source))
                    Directory.Delete(source, recursive: true);
                CopyTree(actualRoot, source);
                return;
            }
            var expected = Files(RenderFixture.ExpectationsDir);
            var actual = Files(actualRoot);
            Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
            foreach (var (path, text) in actual)
                Assert.True(expected[path] == text, $"{path} differs from its golden file (KBUNDLE_UPDATE_GOLDEN=1 rewrites them)");
        }
        finally
        {
            Directory.Delete(actualRoot, recursive: true);
        }
    }

    [Fact]
    public void GivenAWorkerOnlyNode_WhenRendered_ThenItCarriesNoAdminCredentialEncryptionKeyOrMasterUnit()
    {
        var paths = fixture.Tree("k8s-04").Files.Select(f => f.Path).ToHashSet();
        Assert.DoesNotContain(NodePaths.Kubeconfig("admin"), paths);
        Assert.DoesNotContain(NodePaths.Kubeconfig("super-admin"), paths);
        Assert.DoesNotContain(NodePaths.EncryptionConfig, paths);
        Assert.DoesNotContain(NodePaths.Unit("kube-apiserver"), paths);
        Assert.Contains(NodePaths.Kubeconfig("kubelet"), paths);
        Assert.Contains(NodePaths.Bin("kubelet"), paths);
        Assert.Contains(ComponentTable.KubeNginx.BuiltBinary!, paths);
        Assert.Equal(["containerd", "kube-nginx", "kbundle-images", "kubelet", "kube-proxy", "kbundle-cert-check.timer"], fixture.Tree("k8s-04").Units);
    }

    [Fact]
    public void GivenAMasterWithoutTheWorkerRole_WhenRendered_ThenItIsANodeTooRegisteredWithTheControlPlaneTaint()
    {
        var tree = fixture.Tree("k8s-02");
        var paths = tree.Files.Select(f => f.Path).ToHashSet();

        Assert.Equal(["containerd", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-nginx", "kbundle-images", "kubelet", "kube-proxy",
            "kbundle-etcd-backup.timer", "kbundle-cert-check.timer"], tree.Units);
        foreach (var path in new[] { NodePaths.Kubeconfig("kubelet"), NodePaths.Kubeconfig("kube-proxy"), NodePaths.Pki("kubelet.crt"), NodePaths.Pki("kubelet.key"),
                     NodePaths.Unit("kubelet"), NodePaths.Unit("kube-proxy"), NodePaths.Unit("containerd"), NodePaths.CniConfDir + "/10-kbundle.conflist",
                     NodePaths.Bin("kubelet"), NodePaths.CniBinDir + "/bridge", NodePaths.ImageArchive(Bundler.Configuration.Arch.Amd64), NodePaths.ImportScript })
            Assert.Contains(path, paths);
        Assert.Contains("registerWithTaints:\n  - key: node-role.kubernetes.io/control-plane\n    effect: NoSchedule\n", Text("k8s-02", NodePaths.KubeletConfig), StringComparison.Ordinal);
        Assert.DoesNotContain("registerWithTaints", Text("k8s-04", NodePaths.KubeletConfig), StringComparison.Ordinal);
        var site = RenderFixture.LoadSite(Bundler.Configuration.ExampleSite.Text().Replace("roles: [etcd, master]\n  - name: k8s-02", "roles: [etcd, master, worker]\n  - name: k8s-02", StringComparison.Ordinal));
        var both = fixture.RenderWith(null, site).Nodes.Single(n => n.Node == "k8s-01");
        Assert.DoesNotContain("registerWithTaints", RenderFixture.Text(both.Files.Single(f => f.Path == NodePaths.KubeletConfig)), StringComparison.Ordinal);
    }

    [Fact]
    public void GivenTheSitesImages_WhenRendered_ThenContainerdPinsTheShippedSandboxByDigestAndTheImportScriptNamesEveryImage()
    {
        var pause = fixture.Images.Single(i => i.Name == "pause");
        var coredns = fixture.Images.Single(i => i.Name == "coredns");

        Assert.Contains($"  sandbox = \"{pause.PinnedRef}\"\n", Text("k8s-04", NodePaths.ContainerdConfig), StringComparison.Ordinal);
        var script = Text("k8s-04", NodePaths.ImportScript);
        foreach (var name in new[] { pause.Ref, pause.PinnedRef, coredns.Ref, coredns.PinnedRef })
            Assert.Contains($"  \"{name} {(name.Contains("pause", StringComparison.Ordinal) ? pause : coredns).Digest}\"\n", script, StringComparison.Ordinal);
        Assert.Contains("archive='/opt/k8s/images/images-amd64.tar'\nplatform='linux/amd64'\n", script, StringComparison.Ordinal);
        Assert.Equal(NodeFile.Executable, fixture.Tree("k8s-04").Files.Single(f => f.Path == NodePaths.ImportScript).Mode);
        var archive = fixture.Tree("k8s-04").Files.Single(f => f.Kind == FileKind.Images);
        Assert.Equal(NodePaths.ImageArchive(Bundler.Configuration.Arch.Amd64), archive.Path);
        Assert.Equal(["kbundle-images"], archive.Restarts.Select(c => c.Name));
        Assert.Equal(["pause", "coredns"], archive.Archive!.Images.Select(i => i.Pin.Name));
    }

    [Fact]
    public void GivenTheDefaultAddons_WhenRendered_ThenTheFirstMasterCarriesCoreDnsWithTheTenthServiceIpAndThePinnedImage()
    {
        var manifest = Text("k8s-01", NodePaths.Addon("coredns"));
        var coredns = fixture.Images.Single(i => i.Name == "coredns");

        Assert.Contains("  clusterIP: 10.254.0.10\n", manifest, StringComparison.Ordinal);
        Assert.Contains($"          image: {coredns.PinnedRef}\n          imagePullPolicy: IfNotPresent\n", manifest, StringComparison.Ordinal);
        Assert.Contains("        kubernetes cluster.local in-addr.arpa ip6.arpa {\n", manifest, StringComparison.Ordinal);
        Assert.Contains("- 10.254.0.10", Text("k8s-02", NodePaths.KubeletConfig), StringComparison.Ordinal);
        Assert.Equal(["/etc/kubernetes/bootstrap/cluster-admins.yaml", "/etc/kubernetes/bootstrap/apiserver-kubelet-client.yaml", "/etc/kubernetes/addons/coredns.yaml"],
            TemplateCatalog.BootstrapManifests(fixture.Site));
        Assert.DoesNotContain(fixture.Tree("k8s-02").Files, f => f.Path.StartsWith(NodePaths.AddonsDir, StringComparison.Ordinal));
    }

    [Fact]
    public void GivenThreeMasters_WhenRendered_ThenOnlyTheFirstCarriesSuperAdminAndTheBootstrapManifests()
    {
        foreach (var tree in fixture.Result.Nodes)
        {
            var first = tree.Node == "k8s-01";
            Assert.Equal(first, tree.Files.Any(f => f.Path == NodePaths.Kubeconfig("super-admin")));
            Assert.Equal(first, tree.Files.Any(f => f.Path.StartsWith(NodePaths.BootstrapDir + "/", StringComparison.Ordinal)));
            Assert.Equal(first, tree.Files.Any(f => f.Path.StartsWith(NodePaths.AddonsDir + "/", StringComparison.Ordinal)));
        }
    }

    [Fact]
    public void GivenSecrets_WhenRendered_ThenKubeconfigsAndTheEncryptionConfigAreMode0600()
    {
        var secrets = fixture.Result.Nodes.SelectMany(t => t.Files)
            .Where(f => f.Kind == FileKind.Kubeconfig || f.Path == NodePaths.EncryptionConfig).ToList();
        Assert.NotEmpty(secrets);
        Assert.All(secrets, f => Assert.Equal(NodeFile.Secret, f.Mode));
    }

    [Fact]
    public void GivenMastersAndWorkers_WhenRendered_ThenEachRoutesEveryOtherNodesPodSubnet()
    {
        var routes04 = RouteLines("k8s-04");
        var routes01 = RouteLines("k8s-01");
        Assert.Equal(["172.30.0.0/24 via 192.168.93.11", "172.30.1.0/24 via 192.168.93.12", "172.30.2.0/24 via 192.168.93.13", "172.30.4.0/24 via 192.168.93.15"], routes04);
        Assert.Equal(["172.30.1.0/24 via 192.168.93.12", "172.30.2.0/24 via 192.168.93.13", "172.30.3.0/24 via 192.168.93.14", "172.30.4.0/24 via 192.168.93.15"], routes01);
    }

    [Fact]
    public void GivenAWorker_WhenRendered_ThenItsCniConfigUsesItsOwnPodSubnetAndKubeletItsName()
    {
        var conflist = Text("k8s-05", NodePaths.CniConfDir + "/10-kbundle.conflist");
        using var json = System.Text.Json.JsonDocument.Parse(conflist);
        var subnet = json.RootElement.GetProperty("plugins")[0].GetProperty("ipam").GetProperty("ranges")[0][0].GetProperty("subnet").GetString();
        Assert.Equal("172.30.4.0/24", subnet);
        var unit = Text("k8s-05", NodePaths.Unit("kubelet"));
        Assert.Contains("--hostname-override=k8s-05", unit, StringComparison.Ordinal);
        Assert.Contains("--node-ip=192.168.93.15", unit, StringComparison.Ordinal);
        Assert.Contains("- 10.254.0.10", Text("k8s-05", NodePaths.KubeletConfig), StringComparison.Ordinal);
    }

    [Fact]
    public void GivenCaKeyOnMasters_WhenRendered_ThenOnlyThenTheControllerManagerSignsCsrs()
    {
        Assert.DoesNotContain("--cluster-signing", Text("k8s-01", NodePaths.Unit("kube-controller-manager")), StringComparison.Ordinal);
        var site = RenderFixture.LoadSite(Bundler.Configuration.ExampleSite.Text().Replace("caKeyOnMasters: false", "caKeyOnMasters: true", StringComparison.Ordinal));
        var tree = fixture.RenderWith(null, site).Nodes.Single(n => n.Node == "k8s-01");
        var unit = RenderFixture.Text(tree.Files.Single(f => f.Path == NodePaths.Unit("kube-controller-manager")));
        Assert.Contains("--cluster-signing-key-file=/etc/kubernetes/pki/ca.key \\\n", unit, StringComparison.Ordinal);
        Assert.Contains("--cluster-signing-duration=8760h \\\n", unit, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenEveryNode_WhenRendered_ThenNginxUpstreamListsEveryMasterAndListensOnTheLocalProxyPort()
    {
        var configs = RenderStep.NginxConfigs(fixture.Result);
        Assert.Equal(5, configs.Count);
        foreach (var text in configs.Values)
        {
            Assert.Contains("listen 127.0.0.1:8443;", text, StringComparison.Ordinal);
            foreach (var ip in new[] { "192.168.93.11", "192.168.93.12", "192.168.93.13" })
                Assert.Contains($"server {ip}:6443 max_fails=3 fail_timeout=30s;", text, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("k8s-04", "/opt/k8s/bin/kubelet", "kubelet")]
    [InlineData("k8s-04", "/opt/k8s/bin/runc", "containerd")]
    [InlineData("k8s-04", "/opt/k8s/bin/kubectl", "")]
    [InlineData("k8s-01", "/etc/kubernetes/pki/apiserver.key", "kube-apiserver")]
    [InlineData("k8s-01", "/etc/kubernetes/pki/sa.key", "kube-apiserver,kube-controller-manager")]
    [InlineData("k8s-04", "/etc/kube-nginx/nginx.conf", "kube-nginx")]
    [InlineData("k8s-01", "/etc/systemd/system/etcd.service", "etcd")]
    [InlineData("k8s-04", "/etc/kubernetes/kubelet.conf", "kubelet")]
    [InlineData("k8s-01", "/etc/kubernetes/admin.conf", "")]
    [InlineData("k8s-02", "/opt/k8s/bin/kubelet", "kubelet")]
    [InlineData("k8s-04", "/opt/k8s/images/import.sh", "kbundle-images")]
    [InlineData("k8s-04", "/opt/k8s/images/images-amd64.tar", "kbundle-images")]
    public void GivenARenderedFile_WhenItChanges_ThenItRestartsOnlyTheUnitsTheTablesName(string node, string path, string units)
    {
        var file = fixture.Tree(node).Files.Single(f => f.Path == path);

        Assert.Equal(units, string.Join(",", file.Restarts.Select(c => c.Name)));
    }

    private List<string> RouteLines(string node) =>
        Text(node, NodePaths.PodRoutes).Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();

    private string Text(string node, string path) => RenderFixture.Text(fixture.Tree(node).Files.Single(f => f.Path == path));

    /// <summary>Golden files must be stable: certificate, key and encryption-key data change every run.</summary>
    internal static string Redact(NodeFile file)
    {
        var text = RenderFixture.Text(file);
        // Each build issues the certificates anew: their end dates are not the golden file's.
        if (file.Path == NodePaths.CertExpiryTable)
            text = NotAfter().Replace(text, "<not-after>\t<not-after>\t");
        text = DataField().Replace(text, "$1<redacted>");
        return SecretField().Replace(text, "$1<redacted>");
    }

    [GeneratedRegex(@"(?m)^\d+\t\S+\t")]
    private static partial Regex NotAfter();

    [GeneratedRegex(@"((?:certificate-authority|client-certificate|client-key)-data: )\S+")]
    private static partial Regex DataField();

    [GeneratedRegex(@"(\n\s+secret: )\S+")]
    private static partial Regex SecretField();

    private static Dictionary<string, string> Files(string root) =>
        Directory.Exists(root)
            ? Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
                .ToDictionary(f => Path.GetRelativePath(root, f).Replace('\\', '/'), File.ReadAllText)
            : [];

    private static void CopyTree(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }

    /// <summary>tests/Bundler.Tests in the source tree (golden files are rewritten there, not in bin/).</summary>
    private static string SourceDir([System.Runtime.CompilerServices.CallerFilePath] string caller = "") =>
        Path.GetDirectoryName(Path.GetDirectoryName(caller))!;
}
