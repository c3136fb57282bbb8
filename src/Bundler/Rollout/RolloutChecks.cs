using System.Globalization;
using Bundler.Configuration;
using Bundler.Layout;
using Bundler.Packaging;

namespace Bundler.Rollout;

/// <summary>A version as the site and the lock write it (<c>1.36.0</c>, <c>3.5.30</c>); only major and minor are compared for skew.</summary>
public sealed record ReleaseVersion(int Major, int Minor, int Patch) : IComparable<ReleaseVersion>
{
    public static ReleaseVersion? TryParse(string? text)
    {
        var parts = (text ?? "").TrimStart('v').Split('.', '-', '+');
        return parts.Length >= 3
               && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var major)
               && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var minor)
               && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var patch)
            ? new ReleaseVersion(major, minor, patch)
            : null;
    }

    public int CompareTo(ReleaseVersion? other) =>
        other is null ? 1 : (Major, Minor, Patch).CompareTo((other.Major, other.Minor, other.Patch));

    public string MinorText => $"{Major}.{Minor}";

    public override string ToString() => $"{Major}.{Minor}.{Patch}";
}

/// <summary>
/// What makes a later build of a running site unsafe to roll out (SPEC §8), checked against the build that runs on it
/// now, before anything is fetched or written: <c>plan</c> and <c>build</c> both refuse it (exit 2), naming why.
/// </summary>
public static class RolloutChecks
{
    /// <summary>Every reason the change from <paramref name="running"/> to <paramref name="site"/> with <paramref name="lockFile"/> cannot roll out; empty when it can.</summary>
    public static IReadOnlyList<string> Refusals(SiteSpec site, LockFile lockFile, BundleManifest? running)
    {
        ArgumentNullException.ThrowIfNull(site);
        ArgumentNullException.ThrowIfNull(lockFile);
        if (running is null)
            return [];
        var refusals = new List<string>();
        Network(site, running, refusals);
        Kubernetes(site, running, refusals);
        Etcd(lockFile, running, refusals);
        var etcd = new EtcdCluster(site, running);
        Membership(etcd, refusals);
        if (refusals.Count == 0)
            refusals.AddRange(Skew(ReleaseVersion.TryParse(running.Site.Kubernetes), ReleaseVersion.TryParse(site.Kubernetes),
                Planned(site, running), etcd, HoldsKubelets(site, running)));
        return refusals;
    }

    /// <summary>Throws the refusals as one bad-input error (exit 2) naming each, or returns.</summary>
    public static void ThrowIfRefused(SiteSpec site, LockFile lockFile, BundleManifest? running, string against)
    {
        var refusals = Refusals(site, lockFile, running);
        if (refusals.Count > 0)
            throw new UserInputException(
                $"{site.SourcePath}: this change cannot roll out safely onto the site that runs the build in {against} (build serial {running!.BuildSerial}, " +
                $"Kubernetes {running.Site.Kubernetes}); nothing was written:" + Environment.NewLine +
                string.Join(Environment.NewLine, refusals.Select(r => "  " + r)) + Environment.NewLine +
                "(a new cluster instead: build into another --out folder)");
    }

    /// <summary>
    /// Whether the masters hold their kubelet and kube-proxy back while the apiservers are upgraded: a minor upgrade with
    /// more than one apiserver (one master's new kubelet would otherwise talk to another's older apiserver).
    /// </summary>
    public static bool HoldsKubelets(SiteSpec site, BundleManifest? running)
    {
        ArgumentNullException.ThrowIfNull(site);
        var from = ReleaseVersion.TryParse(running?.Site.Kubernetes);
        var to = ReleaseVersion.TryParse(site.Kubernetes);
        return from is not null && to is not null && (to.Major, to.Minor).CompareTo((from.Major, from.Minor)) > 0
               && site.Nodes.Count(ComponentTable.KubeApiserver.RunsOn) > 1;
    }

    /// <summary>Every node of the site as the rollout sees it before anything is built: new when the running build lacks it, else changed.</summary>
    public static IReadOnlyList<PlannedNode> Planned(SiteSpec site, BundleManifest running)
    {
        ArgumentNullException.ThrowIfNull(site);
        ArgumentNullException.ThrowIfNull(running);
        var before = running.Nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var now = site.Nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        return
        [
            .. site.Nodes.Select(n => new PlannedNode(n.Name, n.Roles, BundleLayout.RunFile(n.Name), before.Contains(n.Name) ? NodeChange.Changed : NodeChange.New)),
            .. running.Nodes.Where(n => !now.Contains(n.Name)).Select(n => new PlannedNode(n.Name, NodeGroups.RolesOf(n.Roles), BundleLayout.RunFile(n.Name), NodeChange.Removed)),
        ];
    }

    private static void Network(SiteSpec site, BundleManifest running, List<string> refusals)
    {
        if (running.Site.Network is not { } was)
            return;   // a build by a kbundle older than the record: nothing to compare with
        var now = NetworkRecord.Of(site);
        void Field(string name, string before, string after, string why)
        {
            if (before != after)
                refusals.Add($"network.{name}: {before} -> {after} on a running site; {why}");
        }
        Field("serviceCidr", was.ServiceCidr, now.ServiceCidr, "every Service keeps its address from the old range, and the apiserver certificates name the old kubernetes Service IP");
        Field("podCidr", was.PodCidr, now.PodCidr, "running pods keep addresses of the old range, and every node's routes and CNI ranges would change under them");
        Field("clusterDomain", was.ClusterDomain, now.ClusterDomain, "running pods resolve names in the old domain");
        if (was.PodCidr == now.PodCidr)
            foreach (var (node, subnet) in now.PodSubnets)
                if (was.PodSubnets.TryGetValue(node, out var old) && old != subnet)
                    refusals.Add($"nodes: {node}'s pod subnet {old} -> {subnet} (a node's /24 follows its position in the site file): " +
                                 "keep the order of the nodes that stay, and add new nodes at the end");
    }

    private static void Kubernetes(SiteSpec site, BundleManifest running, List<string> refusals)
    {
        var from = ReleaseVersion.TryParse(running.Site.Kubernetes);
        var to = ReleaseVersion.TryParse(site.Kubernetes);
        if (from is null || to is null)
            return;
        if (to.CompareTo(from) < 0)
            refusals.Add($"kubernetes: {from} -> {to} is a downgrade; Kubernetes supports upgrades only (restore the older site from a backup instead)");
        else if (to.Major != from.Major)
            refusals.Add($"kubernetes: {from} -> {to} changes the major version; upgrade one minor version at a time");
        else if (to.Minor > from.Minor + 1)
            refusals.Add($"kubernetes: {from} -> {to} skips {string.Join(", ", Enumerable.Range(from.Minor + 1, to.Minor - from.Minor - 1).Select(m => $"{from.Major}.{m}"))}; " +
                         $"upgrade one minor version at a time ({from.MinorText} -> {from.Major}.{from.Minor + 1} -> ...), rolling out each");
    }

    /// <summary>etcd upgrades one minor version at a time and never goes back (its data format moves on).</summary>
    private static void Etcd(LockFile lockFile, BundleManifest running, List<string> refusals)
    {
        var from = running.Artifacts.Where(a => a.Name == ComponentTable.Etcd.Name).Select(a => ReleaseVersion.TryParse(a.Version)).OfType<ReleaseVersion>().Max();
        var to = lockFile.Versions.TryGetValue(ComponentTable.Etcd.Name, out var v) ? ReleaseVersion.TryParse(v) : null;
        if (from is null || to is null)
            return;
        if ((to.Major, to.Minor).CompareTo((from.Major, from.Minor)) < 0)
            refusals.Add($"etcd: {from} -> {to} is a downgrade of its minor version; etcd's data cannot go back (restore a snapshot taken before the upgrade instead)");
        else if (to.Major != from.Major || to.Minor > from.Minor + 1)
            refusals.Add($"etcd: {from} -> {to} skips a minor version; etcd upgrades one minor version at a time (a lock with {from.Major}.{from.Minor + 1} first)");
    }

    private static void Membership(EtcdCluster etcd, List<string> refusals)
    {
        foreach (var member in etcd.Members)
            if (etcd.Running.FirstOrDefault(r => r.Name == member.Name) is { } was && was.Ip != member.Ip)
                refusals.Add($"etcd member {member.Name}: address {was.Ip} -> {member.Ip}; a member keeps its peer address: remove it in one build, " +
                             "roll out, then add it back at its new address in the next");
        if (etcd.Joining.Count > 0 && etcd.Removed.Count > 0)
            refusals.Add($"etcd members: {string.Join(", ", etcd.Joining)} added and {string.Join(", ", etcd.Removed)} removed in one build; " +
                         "change the membership in two builds, rolling out each (to replace a failed member, remove it first)");
        var before = etcd.Running.Count;
        var left = before - etcd.Removed.Count;
        if (etcd.Removed.Count > 0 && left < EtcdCluster.Quorum(before))
            refusals.Add($"etcd members: removing {string.Join(", ", etcd.Removed)} leaves {left} of {before}, fewer than the quorum of {EtcdCluster.Quorum(before)} " +
                         $"the {before}-member cluster needs to agree to the removal: remove at most {before - EtcdCluster.Quorum(before)} per build");
    }

    /// <summary>
    /// Walks the rollout's steps and names every moment a kubelet or kube-proxy would run a newer minor version than some
    /// apiserver (the version skew policy: never newer). <paramref name="hold"/> as <see cref="RolloutOrder.Steps"/> takes it.
    /// </summary>
    public static IReadOnlyList<string> Skew(ReleaseVersion? from, ReleaseVersion? to, IReadOnlyList<PlannedNode> nodes, EtcdCluster etcd, bool hold)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(etcd);
        if (from is null || to is null)
            return [];
        // A removed master's apiserver leaves every rolled-out node's kube-nginx with that node's run: it is not counted.
        var apiservers = nodes.Where(n => n.Change is NodeChange.Changed or NodeChange.Unchanged && ComponentTable.KubeApiserver.RunsOn(n.Roles))
            .ToDictionary(n => n.Name, _ => from, StringComparer.Ordinal);
        var kubelets = nodes.Where(n => n.Change is NodeChange.Changed or NodeChange.Unchanged or NodeChange.Removed && ComponentTable.Kubelet.RunsOn(n.Roles))
            .ToDictionary(n => n.Name, _ => from, StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var step in RolloutOrder.Steps(nodes, etcd, hold, batch: 1))
        {
            foreach (var batch in step.Batches)
            {
                foreach (var run in batch)
                {
                    var node = nodes.First(n => n.Name == run.Node);
                    if (node.Change == NodeChange.Removed)
                    {
                        apiservers.Remove(node.Name);
                        kubelets.Remove(node.Name);
                        continue;
                    }
                    if (ComponentTable.KubeApiserver.RunsOn(node.Roles))
                        apiservers[node.Name] = to;
                    if (ComponentTable.Kubelet.RunsOn(node.Roles) && !run.Arguments.Contains(RolloutOrder.HoldOption))
                        kubelets[node.Name] = to;
                }
                if (apiservers.Count == 0)
                    continue;
                var oldest = apiservers.Values.Min()!;
                foreach (var (name, version) in kubelets.Where(k => (k.Value.Major, k.Value.Minor).CompareTo((oldest.Major, oldest.Minor)) > 0))
                {
                    var older = apiservers.Where(a => (a.Value.Major, a.Value.Minor) == (oldest.Major, oldest.Minor)).Select(a => a.Key);
                    problems.Add($"version skew: after {string.Join(", ", batch.Select(r => r.File))} ({step.Title}), the kubelet and kube-proxy {version} on {name} " +
                                 $"would be newer than kube-apiserver {oldest} on {string.Join(", ", older)}; a kubelet must never be newer than an apiserver");
                }
            }
        }
        return problems.Distinct().ToList();
    }
}
