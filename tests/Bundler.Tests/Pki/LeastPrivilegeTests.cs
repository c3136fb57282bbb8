using System.Text;
using Bundler.Configuration;
using Bundler.Layout;
using Bundler.Pki;
using Xunit;

namespace Bundler.Tests.Pki;

/// <summary>Walks every node's file set and credentials: each node holds exactly what its roles need.</summary>
public sealed class LeastPrivilegeTests
{
    private static readonly string[] MasterFiles =
    [
        "ca.crt", "etcd/ca.crt", "front-proxy-ca.crt", "sa.pub", "sa.key", "apiserver.crt", "apiserver.key",
        "apiserver-kubelet-client.crt", "apiserver-kubelet-client.key", "apiserver-etcd-client.crt", "apiserver-etcd-client.key",
        "front-proxy-client.crt", "front-proxy-client.key",
    ];

    private static readonly string[] EtcdFiles =
        ["etcd/ca.crt", "etcd/server.crt", "etcd/server.key", "etcd/peer.crt", "etcd/peer.key", "etcd/healthcheck-client.crt", "etcd/healthcheck-client.key"];

    /// <summary>What every node that runs a kubelet holds: workers, and masters too (SPEC §7: every master is a node).</summary>
    private static readonly string[] NodeFiles = ["ca.crt", "kubelet.crt", "kubelet.key"];

    private static bool IsNode(NodeSpec node) => node.Is(Roles.Master) || node.Is(Roles.Worker);

    [Fact]
    public void GivenThreeMasterEtcdNodesAndTwoWorkers_WhenEveryNodesFilesAreWalked_ThenEachHoldsExactlyWhatItsRolesNeed()
    {
        using var fixture = new PkiFixture();
        var site = PkiFixture.Site();
        var pki = fixture.Ensure(site);
        var secrets = SecretsNoWorkerMayHold(pki);

        foreach (var node in site.Nodes)
        {
            var files = pki.PkiFilesFor(node);
            var expected = (node.Is(Roles.Master) ? MasterFiles : [])
                .Concat(node.Is(Roles.Etcd) ? EtcdFiles : [])
                .Concat(IsNode(node) ? NodeFiles : [])
                .Select(NodePaths.Pki).Distinct().Order(StringComparer.Ordinal);
            Assert.Equal(expected, files.Select(f => f.Path).Order(StringComparer.Ordinal));

            Assert.DoesNotContain(files, f => f.Path.EndsWith("ca.key", StringComparison.Ordinal));
            foreach (var file in files)
            {
                Assert.Equal(file.Kind == FileKind.PrivateKey ? NodeFile.Secret : NodeFile.Public, file.Mode);
                var text = Encoding.UTF8.GetString(file.Content!);
                // A node's per-node files are its own: CNs and SANs name this node, never another.
                if (file.Path.EndsWith(".crt", StringComparison.Ordinal) && pki.Items.First(i => i.CertificatePem == text).Instance.Owner is { } owner)
                    Assert.Equal(node.Name, owner.Name);
                if (node.Is(Roles.Worker) && !node.Is(Roles.Master))
                    Assert.DoesNotContain(text, secrets);
            }
        }
    }

    [Fact]
    public void GivenCaKeyOnMasters_WhenFilesAreWalked_ThenMastersAndOnlyMastersGetTheClusterCaKey()
    {
        using var fixture = new PkiFixture();
        var site = PkiFixture.Site(caKeyOnMasters: true);
        var pki = fixture.Ensure(site);

        foreach (var node in site.Nodes)
        {
            var paths = pki.PkiFilesFor(node).Select(f => f.Path).ToList();
            Assert.Equal(node.Is(Roles.Master), paths.Contains(NodePaths.Pki("ca.key")));
            Assert.DoesNotContain(NodePaths.Pki("etcd/ca.key"), paths);
            Assert.DoesNotContain(NodePaths.Pki("front-proxy-ca.key"), paths);
        }
    }

    [Fact]
    public void GivenAnEtcdOnlyNode_WhenFilesAreWalked_ThenItHoldsOnlyItsEtcdMaterial()
    {
        using var fixture = new PkiFixture();
        var site = PkiFixture.Site(
        [
            new("etcd-1", "10.0.0.1", "etcd"), new("etcd-2", "10.0.0.2", "etcd"), new("etcd-3", "10.0.0.3", "etcd"),
            new("cp-1", "10.0.0.11", "master"), new("w-1", "10.0.0.21", "worker"),
        ]);
        var pki = fixture.Ensure(site);

        Assert.Equal(EtcdFiles.Select(NodePaths.Pki).Order(StringComparer.Ordinal),
            pki.PkiFilesFor(site.Node("etcd-2")).Select(f => f.Path).Order(StringComparer.Ordinal));
        Assert.Contains("CN=etcd-2", pki.PkiFilesFor(site.Node("etcd-2"))
            .Where(f => f.Path == NodePaths.Pki("etcd/server.crt")).Select(f => pki.Items.First(i => i.CertificatePem == Encoding.UTF8.GetString(f.Content!)).Certificate!.Subject).Single());
        Assert.Equal(MasterFiles.Concat(NodeFiles).Distinct().Select(NodePaths.Pki).Order(StringComparer.Ordinal),
            pki.PkiFilesFor(site.Node("cp-1")).Select(f => f.Path).Order(StringComparer.Ordinal));
        // No kubelet, no kube-proxy on an etcd-only node: neither their credentials.
        foreach (var identity in new[] { "kubelet", "kube-proxy", "admin" })
            Assert.Throws<InvalidOperationException>(() => pki.ClientCredential(identity, site.Node("etcd-1")));
    }

    [Theory]
    [InlineData("admin", "k8s-04")]
    [InlineData("super-admin", "k8s-02")]
    [InlineData("super-admin", "k8s-04")]
    [InlineData("controller-manager", "k8s-05")]
    [InlineData("scheduler", "k8s-04")]
    public void GivenAnIdentityTheNodesRolesMayNotHold_WhenItsCredentialIsAsked_ThenItIsRefused(string identity, string nodeName)
    {
        using var fixture = new PkiFixture();
        var site = PkiFixture.Site();
        var pki = fixture.Ensure(site);

        var error = Assert.Throws<InvalidOperationException>(() => pki.ClientCredential(identity, site.Node(nodeName)));

        Assert.Contains($"node '{nodeName}'", error.Message);
        Assert.Contains($"'{identity}'", error.Message);
    }

    [Theory]
    [InlineData("admin", "k8s-02", "CN=kubernetes-admin, O=kubeadm:cluster-admins")]
    [InlineData("super-admin", "k8s-01", "CN=kubernetes-super-admin, O=system:masters")]
    [InlineData("controller-manager", "k8s-03", "CN=system:kube-controller-manager")]
    [InlineData("scheduler", "k8s-01", "CN=system:kube-scheduler")]
    [InlineData("kube-proxy", "k8s-05", "CN=system:kube-proxy")]
    [InlineData("kubelet", "k8s-05", "CN=system:node:k8s-05, O=system:nodes")]
    // Masters are nodes too: their kubelet and kube-proxy have credentials of their own.
    [InlineData("kubelet", "k8s-01", "CN=system:node:k8s-01, O=system:nodes")]
    [InlineData("kube-proxy", "k8s-03", "CN=system:kube-proxy")]
    public void GivenAnIdentityTheNodeMayHold_WhenItsCredentialIsAsked_ThenItIsTheTablesSubjectWithAMatchingKey(string identity, string nodeName, string subject)
    {
        using var fixture = new PkiFixture();
        var site = PkiFixture.Site();
        var pki = fixture.Ensure(site);

        var credential = pki.ClientCredential(identity, site.Node(nodeName));

        var certificate = Keys.ImportCertificatePem(credential.CertificatePem, identity);
        Assert.Equal(subject, certificate.Subject);
        using var key = Keys.ImportPrivatePem(credential.KeyPem, identity);
        Assert.Equal(Keys.PublicKeyInfo(certificate), Keys.PublicKeyInfo(key));
        Assert.Contains("kube-apiserver-kubelet-client", pki.Get("apiserver-kubelet-client").Certificate!.Subject);
        Assert.DoesNotContain("O=", pki.Get("apiserver-kubelet-client").Certificate!.Subject);
    }

    [Fact]
    public void GivenAWorker_WhenItsCertificatesAreListed_ThenTheyAreTheCaItsKubeletPairAndItsKubeconfigCredentials()
    {
        using var fixture = new PkiFixture();
        var site = PkiFixture.Site();
        var pki = fixture.Ensure(site);

        var listed = pki.CertificatesFor(site.Node("k8s-04")).Select(c => (c.Path, c.CommonName)).ToList();

        Assert.Equal(
        [
            (NodePaths.Pki("ca.crt"), "kubernetes-ca"), (NodePaths.Pki("kubelet.crt"), "system:node:k8s-04"),
            (NodePaths.Kubeconfig("kube-proxy"), "system:kube-proxy"), (NodePaths.Kubeconfig("kubelet"), "system:node:k8s-04"),
        ], listed);
    }

    /// <summary>PEM of every key a worker must never see: CA keys, sa.key, etcd keys, admin credentials, masters' keys.</summary>
    private static string[] SecretsNoWorkerMayHold(PkiMaterial pki) =>
        pki.Items.Where(i => i.Instance.Spec.Name is not ("kubelet" or "kubelet-client" or "kube-proxy")).Select(i => i.KeyPem).ToArray();
}
