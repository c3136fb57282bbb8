using Bundler.Configuration;
using Bundler.Layout;
using Bundler.Packaging;

namespace Bundler.Rollout;

/// <summary>An etcd member as a build records it: its name and address.</summary>
public sealed record EtcdMember(string Name, string Ip)
{
    public string PeerUrl => $"https://{Ip}:{ComponentTable.Etcd.Port("peer")}";

    public string ClientUrl => $"https://{Ip}:{ComponentTable.Etcd.Port("client")}";

    public override string ToString() => $"{Name} ({Ip})";
}

/// <summary>
/// A site's etcd membership against the build that runs on it now (SPEC §8). A site never built starts every member with
/// <c>initial-cluster-state=new</c>. On a running site, a member new to the site joins: the installer adds it to the
/// running cluster (<c>member add</c>) and it starts with <c>initial-cluster-state=existing</c> and the membership the
/// cluster has at that moment (the running members, the joiners rolled out before it, itself); a member the site no
/// longer has is removed by the bundle of a remaining member while a quorum holds without it.
/// </summary>
public sealed class EtcdCluster
{
    public EtcdCluster(SiteSpec site, BundleManifest? running)
    {
        ArgumentNullException.ThrowIfNull(site);
        Site = site;
        Members = [.. site.EtcdMembers.Select(n => new EtcdMember(n.Name, n.Ip.ToString()))];
        Running = running is null ? [] : [.. running.Nodes.Where(n => n.Roles.Contains(Names.Of(Roles.Etcd))).Select(n => new EtcdMember(n.Name, n.Ip))];
        var runningNames = Running.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var memberNames = Members.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        Joining = Running.Count == 0 ? [] : [.. Members.Where(m => !runningNames.Contains(m.Name))];
        Removed = [.. Running.Where(m => !memberNames.Contains(m.Name))];
    }

    public SiteSpec Site { get; }

    /// <summary>The site's members, in site order.</summary>
    public IReadOnlyList<EtcdMember> Members { get; }

    /// <summary>The members of the build running on the site (empty for a site never built).</summary>
    public IReadOnlyList<EtcdMember> Running { get; }

    /// <summary>Members that join the running cluster, in the order they are rolled out (site order).</summary>
    public IReadOnlyList<EtcdMember> Joining { get; }

    /// <summary>Running members the site no longer has.</summary>
    public IReadOnlyList<EtcdMember> Removed { get; }

    /// <summary>etcd's <c>initial-cluster-token</c>: one per site (a snapshot restore starts every member with it).</summary>
    public static string Token(SiteSpec site)
    {
        ArgumentNullException.ThrowIfNull(site);
        return $"{site.Name}-etcd";
    }

    /// <summary>How many members of a cluster of <paramref name="members"/> must agree for it to accept a write.</summary>
    public static int Quorum(int members) => members / 2 + 1;

    public bool IsJoining(NodeSpec node) => Joining.Any(m => m.Name == node?.Name);

    /// <summary><c>existing</c> for a member that joins a running cluster, else <c>new</c> (etcd reads it only to start an empty data dir).</summary>
    public string InitialClusterState(NodeSpec node) => IsJoining(node) ? "existing" : "new";

    /// <summary>
    /// The membership a member starts an empty data dir with: for a joiner, what the cluster has once its own
    /// <c>member add</c> is done (running members, earlier joiners, itself); for the others, every member of the site.
    /// </summary>
    public string InitialCluster(NodeSpec node)
    {
        ArgumentNullException.ThrowIfNull(node);
        IEnumerable<EtcdMember> members = Members;
        if (IsJoining(node))
        {
            var mine = Joining.ToList().FindIndex(m => m.Name == node.Name);
            members = Members.Where(m => Running.Any(r => r.Name == m.Name) || Joining.Take(mine + 1).Contains(m));
        }
        return string.Join(",", members.Select(m => $"{m.Name}={m.PeerUrl}"));
    }

    /// <summary>What a remaining member's bundle removes from the cluster (<c>name=ip</c>), none on a joiner or a non-member.</summary>
    public IReadOnlyList<EtcdMember> RemovedBy(NodeSpec node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node.Is(Roles.Etcd) && !IsJoining(node) ? Removed : [];
    }
}
