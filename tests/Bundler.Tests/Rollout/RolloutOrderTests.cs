using Bundler.Configuration;
using Bundler.Layout;
using Bundler.Packaging;
using Bundler.Rollout;

namespace Bundler.Tests.Rollout;

/// <summary>SPEC §8: the order a later build rolls out in, and the version skew it keeps legal.</summary>
public sealed class RolloutOrderTests
{
    private static PlannedNode Node(string name, Roles roles, NodeChange change) => new(name, roles, BundleLayout.RunFile(name), change);

    private static SiteSpec Site(string nodes) => SiteLoader.Parse($"name: lab\nkubernetes: 1.36.0\nnodes:\n{nodes}", "site.yaml", PinCatalog.Default()).Site;

    private static readonly string ThreeMastersTwoWorkers =
        "  - {name: m1, ip: 10.0.0.1, roles: [etcd, master]}\n  - {name: m2, ip: 10.0.0.2, roles: [etcd, master]}\n" +
        "  - {name: m3, ip: 10.0.0.3, roles: [etcd, master]}\n  - {name: w1, ip: 10.0.0.4, roles: [worker]}\n  - {name: w2, ip: 10.0.0.5, roles: [worker]}\n";

    private static IEnumerable<string> Order(IReadOnlyList<RolloutStep> steps) => steps.SelectMany(s => s.Runs).Select(r => r.Node);

    [Fact]
    public void GivenChangedNodesOfEveryGroup_WhenOrdered_ThenMembersOneAtATimeJoinersLastThenMastersThenWorkersInBatchesThenRemovedNodes()
    {
        var site = Site("  - {name: e1, ip: 10.0.0.1, roles: [etcd]}\n  - {name: e2, ip: 10.0.0.2, roles: [etcd]}\n  - {name: e9, ip: 10.0.0.9, roles: [etcd]}\n" +
                        "  - {name: m1, ip: 10.0.0.3, roles: [master]}\n  - {name: m2, ip: 10.0.0.4, roles: [master]}\n" +
                        string.Concat(Enumerable.Range(1, 7).Select(i => $"  - {{name: w{i}, ip: 10.0.1.{i}, roles: [worker]}}\n")));
        var running = new BundleManifest(2, "0.1.0", new SiteRecord("lab", "1.36.0", ""), 0, [], null,
            [.. new[] { ("e1", "10.0.0.1"), ("e2", "10.0.0.2") }.Select(m => new NodeRecord(m.Item1, m.Item2, ["etcd"], "amd64", null, [], [], [], [], []))]);
        List<PlannedNode> nodes =
        [
            Node("e9", Roles.Etcd, NodeChange.New), Node("e1", Roles.Etcd, NodeChange.Changed), Node("e2", Roles.Etcd, NodeChange.Unchanged),
            Node("m2", Roles.Master, NodeChange.New), Node("m1", Roles.Master, NodeChange.Changed),
            .. Enumerable.Range(1, 7).Select(i => Node($"w{i}", Roles.Worker, NodeChange.Changed)),
            Node("old", Roles.Worker, NodeChange.Removed),
        ];

        var steps = RolloutOrder.Steps(nodes, new EtcdCluster(site, running), hold: false, batch: 3);

        Assert.Equal(["etcd members, one at a time", "masters, one at a time", "workers, in batches of 3", "nodes no longer in the site"], steps.Select(s => s.Title));
        Assert.Equal(["e1", "e9", "m1", "m2", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "old"], Order(steps));
        Assert.All(steps[0].Batches.Concat(steps[1].Batches), b => Assert.Single(b));
        Assert.Equal([3, 3, 1], steps[2].Batches.Select(b => b.Count));
        Assert.Contains("e9 joins the running cluster: its installer adds it (etcdctl member add) before its etcd first starts.", steps[0].Notes);
        Assert.Equal("sudo ./old.run --uninstall --purge --yes", steps[3].Runs.Single().Command);
        Assert.Equal("sudo ./e1.run", steps[0].Runs.First().Command);
    }

    [Fact]
    public void GivenAMinorUpgradeOfThreeMasters_WhenOrdered_ThenTheyHoldTheirKubeletsUntilEveryApiserverIsUpgradedAndTheSkewStaysLegal()
    {
        var site = Site(ThreeMastersTwoWorkers);
        var running = new BundleManifest(2, "0.1.0", new SiteRecord("lab", "1.35.4", ""), 0, [], null,
            [.. site.Nodes.Select(n => new NodeRecord(n.Name, n.Ip.ToString(), [.. Names.RoleList(n.Roles)], "amd64", null, [], [], [], [], []))]);
        var nodes = RolloutChecks.Planned(site, running);
        var etcd = new EtcdCluster(site, running);

        var hold = RolloutChecks.HoldsKubelets(site, running);
        var steps = RolloutOrder.Steps(nodes, etcd, hold);

        Assert.True(hold);
        Assert.Equal(["etcd members, one at a time", "masters again, one at a time", "workers, in batches of 5"], steps.Select(s => s.Title));
        Assert.All(steps[0].Runs, r => Assert.Equal("sudo ./" + r.File + " --hold kubelet,kube-proxy", r.Command));
        Assert.All(steps[1].Runs, r => Assert.Empty(r.Arguments));
        Assert.Equal(["m1", "m2", "m3", "m1", "m2", "m3", "w1", "w2"], Order(steps));
        Assert.Empty(RolloutChecks.Skew(ReleaseVersion.TryParse("1.35.4"), ReleaseVersion.TryParse("1.36.0"), nodes, etcd, hold));
        Assert.Empty(RolloutChecks.Refusals(site, Bundler.Tests.Render.RenderFixture.Lock, running));
    }

    [Fact]
    public void GivenAMinorUpgradeOfThreeMastersWithoutHolding_WhenTheSkewIsChecked_ThenTheFirstMastersNewKubeletIsRefusedAsNewerThanTheOtherApiservers()
    {
        var site = Site(ThreeMastersTwoWorkers);
        var running = new BundleManifest(2, "0.1.0", new SiteRecord("lab", "1.35.4", ""), 0, [], null,
            [.. site.Nodes.Select(n => new NodeRecord(n.Name, n.Ip.ToString(), [.. Names.RoleList(n.Roles)], "amd64", null, [], [], [], [], []))]);

        var problems = RolloutChecks.Skew(ReleaseVersion.TryParse("1.35.4"), ReleaseVersion.TryParse("1.36.0"), RolloutChecks.Planned(site, running),
            new EtcdCluster(site, running), hold: false);

        Assert.Equal("version skew: after m1.run (etcd members, one at a time), the kubelet and kube-proxy 1.36.0 on m1 would be newer than kube-apiserver 1.35.4 " +
                     "on m2, m3; a kubelet must never be newer than an apiserver", problems[0]);
        Assert.Contains(problems, p => p.StartsWith("version skew: after m2.run", StringComparison.Ordinal));
    }

    [Fact]
    public void GivenAPatchUpgradeOrOneMaster_WhenChecked_ThenNothingIsHeld()
    {
        var three = Site(ThreeMastersTwoWorkers);
        var one = Site("  - {name: m1, ip: 10.0.0.1, roles: [etcd, master]}\n  - {name: w1, ip: 10.0.0.4, roles: [worker]}\n");
        BundleManifest Running(SiteSpec site, string kubernetes) => new(2, "0.1.0", new SiteRecord("lab", kubernetes, ""), 0, [], null,
            [.. site.Nodes.Select(n => new NodeRecord(n.Name, n.Ip.ToString(), [.. Names.RoleList(n.Roles)], "amd64", null, [], [], [], [], []))]);

        Assert.False(RolloutChecks.HoldsKubelets(three, Running(three, "1.36.0")));
        Assert.False(RolloutChecks.HoldsKubelets(one, Running(one, "1.35.9")));
        Assert.Empty(RolloutChecks.Skew(ReleaseVersion.TryParse("1.35.9"), ReleaseVersion.TryParse("1.36.0"), RolloutChecks.Planned(one, Running(one, "1.35.9")),
            new EtcdCluster(one, Running(one, "1.35.9")), hold: false));
    }

    [Fact]
    public void GivenInstallTxtAndThePlan_ThenBothPutANodeInTheGroupItsFirstRoleGives()
    {
        Assert.Equal(NodeGroup.Etcd, NodeGroups.Of(["etcd", "master", "worker"]));
        Assert.Equal(NodeGroup.Masters, NodeGroups.Of(["master", "worker"]));
        Assert.Equal(NodeGroup.Workers, NodeGroups.Of(["worker"]));
        Assert.Equal(NodeGroups.Of(Roles.Etcd | Roles.Master), NodeGroups.Of(["etcd", "master"]));
    }
}
