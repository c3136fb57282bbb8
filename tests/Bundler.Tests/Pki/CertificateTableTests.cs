using Bundler.Configuration;
using Bundler.Pki;
using Xunit;

namespace Bundler.Tests.Pki;

/// <summary>Invariants of the one table everything reads.</summary>
public sealed class CertificateTableTests
{
    [Fact]
    public void GivenTheTable_ThenNamesAreUniqueAndEveryIssuerIsAnAuthorityListedBeforeItsLeaves()
    {
        var rows = CertificateTable.Rows;
        Assert.Equal(rows.Length, rows.Select(r => r.Name).Distinct().Count());
        for (var i = 0; i < rows.Length; i++)
        {
            var row = rows[i];
            if (row.Kind == CertificateKind.Leaf)
            {
                var issuerIndex = rows.IndexOf(rows.Single(r => r.Name == row.Issuer));
                Assert.True(issuerIndex < i, $"{row.Name}: issuer {row.Issuer} comes after it");
                Assert.Equal(CertificateKind.Authority, rows[issuerIndex].Kind);
                Assert.NotEqual(ExtendedUsage.None, row.Usages);
            }
            else
                Assert.Null(row.Issuer);
        }
    }

    [Fact]
    public void GivenTheTable_ThenEveryKubeconfigRowHasAUniqueIdentityAndEveryFileRowAKeyPath()
    {
        var credentials = CertificateTable.Rows.Where(r => r.Delivery == Delivery.Kubeconfig).ToList();
        Assert.All(credentials, r => Assert.NotNull(r.Identity));
        Assert.Equal(credentials.Count, credentials.Select(r => r.Identity).Distinct().Count());
        Assert.Equal(["admin", "controller-manager", "kube-proxy", "kubelet", "scheduler", "super-admin"], credentials.Select(r => r.Identity!).Order());
        Assert.All(CertificateTable.Rows.Where(r => r.Delivery == Delivery.Files), r => Assert.StartsWith("/etc/kubernetes/pki/", r.KeyNodePath));
    }

    [Fact]
    public void GivenAnyWorkerEvenWithCaKeyOnMasters_ThenNoRowHandsItACaKeyServiceAccountKeyEtcdOrAdminMaterial()
    {
        var site = PkiFixture.Site(caKeyOnMasters: true);
        var allowedForWorkers = new[] { "kubelet", "kubelet-client", "kube-proxy" };
        foreach (var worker in site.Workers)
        {
            foreach (var instance in CertificateTable.Expand(site).Where(i => i.HoldsKey(site, worker)))
                Assert.Contains(instance.Spec.Name, allowedForWorkers);
            Assert.DoesNotContain(CertificateTable.Expand(site), i => i.Spec.Issuer == CertificateTable.EtcdCa && i.HoldsCertificate(site, worker));
        }
    }

    [Fact]
    public void GivenASite_WhenExpanded_ThenPerNodeRowsFollowTheRolesAndLeafSubjectsNeverEqualACaSubject()
    {
        var site = PkiFixture.Site();
        var instances = CertificateTable.Expand(site);

        Assert.Equal(3, instances.Count(i => i.Spec.Name == "apiserver"));
        Assert.Equal(3, instances.Count(i => i.Spec.Name == "etcd/peer"));
        // One kubelet serving certificate and one kubelet client credential per node that runs a kubelet: masters too.
        Assert.Equal(5, instances.Count(i => i.Spec.Name == "kubelet"));
        Assert.Equal(5, instances.Count(i => i.Spec.Name == "kubelet-client"));
        Assert.Equal(instances.Count, instances.Select(i => i.Id).Distinct().Count());
        var caSubjects = instances.Where(i => i.Spec.IsAuthority).Select(i => (i.CommonName, string.Join(",", i.Organizations))).ToHashSet();
        Assert.All(instances.Where(i => !i.Spec.IsAuthority), i => Assert.DoesNotContain((i.CommonName, string.Join(",", i.Organizations)), caSubjects));
        Assert.Equal(["DNS:k8s-04", "IP:192.168.93.14"], instances.Single(i => i.Id == "nodes/k8s-04/kubelet").Sans.ToArray());
    }

    [Fact]
    public void GivenTheSuperAdminRow_ThenOnlyTheFirstMasterHoldsIt()
    {
        var site = PkiFixture.Site();
        var superAdmin = CertificateTable.Expand(site).Single(i => i.Spec.Name == "super-admin");
        Assert.Equal(["k8s-01"], site.Nodes.Where(n => superAdmin.HoldsKey(site, n)).Select(n => n.Name));
        Assert.True(site.FirstMaster.Is(Roles.Master));
    }
}
