using Bundler.Configuration;
using Bundler.Layout;
using Bundler.Pki;
using Bundler.Render;

namespace Bundler.Tests.Layout;

/// <summary>Invariants of the roles table every other place reads.</summary>
public sealed class ComponentTableTests
{
    private static readonly Roles[] EveryRoleSet =
        [Roles.Etcd, Roles.Master, Roles.Worker, Roles.Etcd | Roles.Master, Roles.Etcd | Roles.Worker, Roles.Master | Roles.Worker, Roles.Etcd | Roles.Master | Roles.Worker];

    [Fact]
    public void GivenTheTable_ThenNamesAreUniqueAndTheUnitsAreInTheSpecsStartOrder()
    {
        var rows = ComponentTable.Rows;

        Assert.Equal(rows.Length, rows.Select(r => r.Name).Distinct().Count());
        Assert.Equal(["containerd", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-nginx", "kbundle-images", "kubelet", "kube-proxy",
                "kbundle-etcd-backup", "kbundle-cert-check"],
            rows.Where(r => r.IsUnit).Select(r => r.Name));
        // Timers: the installer starts the .timer, never their oneshot service.
        Assert.Equal(["kbundle-etcd-backup.timer", "kbundle-cert-check.timer"], rows.Where(r => r.IsTimer).Select(r => r.UnitName));
    }

    [Fact]
    public void GivenTheTable_ThenEveryBinaryHasOneRowAndLiesInABinaryFolder()
    {
        var binaries = ComponentTable.Rows.SelectMany(r => r.Binaries.Concat(r.Tools).Concat(r.BuiltBinary is null ? [] : [r.BuiltBinary])).ToList();

        Assert.Equal(binaries.Count, binaries.Distinct().Count());
        Assert.All(binaries, b => Assert.True(b.StartsWith(NodePaths.BinDir + "/", StringComparison.Ordinal) || b.StartsWith(NodePaths.CniBinDir + "/", StringComparison.Ordinal), b));
        Assert.All(ComponentTable.Rows.SelectMany(r => r.DataDirs), d => Assert.StartsWith("/var/lib/", d));
    }

    [Fact]
    public void GivenTheTable_ThenEveryUnitHasItsTemplateAndNoTwoComponentsBindOnePort()
    {
        var shipped = Path.Combine(ToolPaths.Find("bundle-templates"), "units");
        var site = SiteLoader.Parse(ExampleSite.Text(), "site.yaml", PinCatalog.Default()).Site;

        foreach (var unit in ComponentTable.Rows.Where(r => r.IsUnit))
        {
            Assert.Contains(TemplateCatalog.All, t => t.NodePath == NodePaths.Unit(unit.Name) && t.Restarts.SequenceEqual([unit]));
            Assert.True(File.Exists(Path.Combine(shipped, unit.Name + ".service" + TemplateSet.Extension)), unit.Name);
            if (unit.IsTimer)
            {
                Assert.Contains(TemplateCatalog.All, t => t.NodePath == NodePaths.Timer(unit.Name) && t.Restarts.SequenceEqual([unit]));
                Assert.True(File.Exists(Path.Combine(shipped, unit.Name + ".timer" + TemplateSet.Extension)), unit.Name + ".timer");
            }
        }
        var ports = ComponentTable.Rows.SelectMany(r => r.PortsOf(site)).Select(p => p.Number).ToList();
        Assert.Equal(ports.Count, ports.Distinct().Count());
        Assert.Equal(ComponentTable.Rows.SelectMany(r => r.Ports).Select(p => p.Number).Order(), ComponentTable.FixedPorts);
    }

    [Fact]
    public void GivenEachRoleSet_WhenItsComponentsAreListed_ThenKubeNginxRunsEverywhereAndMastersAreNodesToo()
    {
        foreach (var roles in EveryRoleSet)
        {
            var units = ComponentTable.UnitsFor(roles);
            var isNode = roles.HasFlag(Roles.Master) || roles.HasFlag(Roles.Worker);
            Assert.Contains("kube-nginx", units);
            Assert.Equal(roles.HasFlag(Roles.Etcd), units.Contains("etcd"));
            Assert.Equal(roles.HasFlag(Roles.Master), units.Contains("kube-apiserver"));
            // SPEC §7: every master also runs containerd, the image import, a kubelet, kube-proxy and the CNI.
            foreach (var unit in new[] { "containerd", "kbundle-images", "kubelet", "kube-proxy" })
                Assert.Equal(isNode, units.Contains(unit));
            Assert.Equal(isNode, ComponentTable.For(roles).Contains(ComponentTable.CniPlugins));
            Assert.Equal(isNode, ComponentTable.DataDirsFor(roles).Contains(NodePaths.KubeletDir));
        }
        var order = ComponentTable.UnitsFor(Roles.Master).ToList();
        Assert.True(order.IndexOf("containerd") < order.IndexOf("kbundle-images") && order.IndexOf("kbundle-images") < order.IndexOf("kubelet"),
            "the image import runs after containerd and before the kubelet: " + string.Join(" ", order));
        Assert.DoesNotContain(NodePaths.Bin("etcd"), ComponentTable.FetchedBinariesFor(Roles.Worker));
        Assert.DoesNotContain(NodePaths.Bin("kube-apiserver"), ComponentTable.FetchedBinariesFor(Roles.Worker));
    }

    [Fact]
    public void GivenTheOtherTables_ThenEveryComponentTheyNameIsARowAndEveryRestartIsAUnit()
    {
        var restarts = CertificateTable.Rows.SelectMany(r => r.Restarts.Concat(r.KeyRestarts))
            .Concat(TemplateCatalog.All.SelectMany(t => t.Restarts)).Distinct().ToList();
        var perNode = CertificateTable.Rows.Select(r => r.Per).OfType<ComponentSpec>().Distinct().ToList();

        Assert.All(restarts.Concat(perNode), c => Assert.Contains(c, ComponentTable.Rows));
        Assert.All(restarts, c => Assert.True(c.IsUnit, $"{c.Name} is no unit, nothing restarts it"));
    }
}
