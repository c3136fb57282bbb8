using Bundler.Configuration;
using Bundler.Layout;
using Bundler.Packaging;
using Bundler.Rollout;

namespace Bundler.Tests.Rollout;

/// <summary>SPEC §8: who joins a running etcd cluster, with what membership, and who removes whom.</summary>
public sealed class EtcdClusterTests
{
    private static SiteSpec Site(params string[] members) => SiteLoader.Parse(
        "name: lab\nkubernetes: 1.36.0\nnodes:\n" + string.Concat(members.Select((m, i) => $"  - {{name: {m}, ip: 10.0.0.{i + 1}, roles: [etcd]}}\n")) +
        "  - {name: m1, ip: 10.0.0.100, roles: [master]}\n", "site.yaml", PinCatalog.Default()).Site;

    private static BundleManifest Running(SiteSpec site) => new(2, "0.1.0", new SiteRecord(site.Name, site.Kubernetes, ""), 0, [], null,
        [.. site.Nodes.Select(n => new NodeRecord(n.Name, n.Ip.ToString(), [.. Names.RoleList(n.Roles)], "amd64", null, [], [], [], [], []))]);

    [Fact]
    public void GivenASiteNeverBuilt_ThenEveryMemberStartsANewClusterOfAllMembers()
    {
        var site = Site("e1", "e2", "e3");
        var etcd = new EtcdCluster(site, null);

        Assert.Empty(etcd.Joining);
        Assert.Equal("new", etcd.InitialClusterState(site.Node("e2")));
        Assert.Equal("e1=https://10.0.0.1:2380,e2=https://10.0.0.2:2380,e3=https://10.0.0.3:2380", etcd.InitialCluster(site.Node("e2")));
    }

    [Fact]
    public void GivenTwoMembersAddedToARunningCluster_ThenEachJoinsWithTheMembershipTheClusterHasOnceItIsAdded()
    {
        var grown = Site("e1", "e2", "e3", "e4", "e5");
        var etcd = new EtcdCluster(grown, Running(Site("e1", "e2", "e3")));

        Assert.Equal(["e4", "e5"], etcd.Joining.Select(m => m.Name));
        Assert.Equal("existing", etcd.InitialClusterState(grown.Node("e4")));
        Assert.Equal("e1=https://10.0.0.1:2380,e2=https://10.0.0.2:2380,e3=https://10.0.0.3:2380,e4=https://10.0.0.4:2380", etcd.InitialCluster(grown.Node("e4")));
        Assert.Equal("e1=https://10.0.0.1:2380,e2=https://10.0.0.2:2380,e3=https://10.0.0.3:2380,e4=https://10.0.0.4:2380,e5=https://10.0.0.5:2380",
            etcd.InitialCluster(grown.Node("e5")));
        Assert.Equal("new", etcd.InitialClusterState(grown.Node("e1")));
        var header = BundleHeader.Metadata(grown, grown.Node("e4"), ComponentTable.UnitsFor(Roles.Etcd), 0, null, etcd).ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal("yes", header[HeaderKeys.EtcdJoin]);
        Assert.Equal("e1=10.0.0.1 e2=10.0.0.2 e3=10.0.0.3 e4=10.0.0.4 e5=10.0.0.5", header[HeaderKeys.EtcdMembers]);
        Assert.Equal("lab-etcd", header[HeaderKeys.EtcdToken]);
    }

    [Fact]
    public void GivenAMemberRemoved_ThenEveryRemainingMembersBundleCarriesItToRemoveAndNoOtherNodeDoes()
    {
        var shrunk = Site("e1", "e2", "e3");
        var etcd = new EtcdCluster(shrunk, Running(Site("e1", "e2", "e3", "e4")));

        Assert.Equal(["e4"], etcd.Removed.Select(m => m.Name));
        foreach (var member in new[] { "e1", "e2", "e3" })
        {
            var header = BundleHeader.Metadata(shrunk, shrunk.Node(member), ComponentTable.UnitsFor(Roles.Etcd), 0, null, etcd).ToDictionary(kv => kv.Key, kv => kv.Value);
            Assert.Equal("e4=10.0.0.4", header[HeaderKeys.EtcdRemove]);
            Assert.Equal("no", header[HeaderKeys.EtcdJoin]);
        }
        Assert.Empty(etcd.RemovedBy(shrunk.Node("m1")));
        Assert.Equal(3, EtcdCluster.Quorum(4));
        Assert.Equal(2, EtcdCluster.Quorum(3));
    }
}
