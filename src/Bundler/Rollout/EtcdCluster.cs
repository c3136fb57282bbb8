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
/// longer has is removed by the bundle of a remaining member while a quorum holds without it. A member keeps the start it
/// was first built with (the running build's <see cref="NodeRecord.Etcd"/>): etcd reads it only for an empty data dir,
/// and a rebuild of an unchanged site stays byte-identical.
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
        _recorded = running?.Nodes.Where(n => n.Etcd is not null && memberNames.Contains(n.Name)).ToDictionary(n => n.Name, n => n.Etcd!, StringComparer.Ordinal)
                    ?? new Dictionary<string, EtcdRecord>(StringComparer.Ordinal);
    }

    private readonly Dictionary<string, EtcdRecord> _recorded;

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

    /// <summary>Whether the member is new to the running cluster (this build adds it).</summary>
    public bool IsJoining(NodeSpec node) => Joining.Any(m => m.Name == node?.Name);

    /// <summary>How a member starts an empty data dir: as the running build recorded it, else new (or existing for a joiner).</summary>
    public EtcdRecord Start(NodeSpec node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return _recorded.TryGetValue(node.Name, out var recorded)
            ? recorded
            : new EtcdRecord(IsJoining(node) ? "existing" : "new", NewInitialCluster(node));
    }

    /// <summary><c>existing</c> for a member that joined a running cluster, else <c>new</c> (etcd reads it only to start an empty data dir).</summary>
    public string InitialClusterState(NodeSpec node) => Start(node).InitialClusterState;

    /// <summary>Whether the member joins a running cluster: its installer adds it before its etcd first starts.</summary>
    public bool JoinsExisting(NodeSpec node) => Start(node).InitialClusterState == "existing";

    /// <summary>The membership a member starts an empty data dir with (<see cref="Start"/>).</summary>
    public string InitialCluster(NodeSpec node) => Start(node).InitialCluster;

    /// <summary>
    /// For a joiner, what the cluster has once its own <c>member add</c> is done (running members, earlier joiners, itself);
    /// for the others, every member of the site.
    /// </summary>
    private string NewInitialCluster(NodeSpec node)
    {
        IEnumerable<EtcdMember> members = Members;
        if (IsJoining(node))
        {
            var mine = Joining.ToList().FindIndex(m => m.Name == node.Name);
            members = Members.Where(m => Running.Any(r => r.Name == m.Name) || Joining.Take(mine + 1).Contains(m));
        }
        return string.Join(",", members.Select(m => $"{m.Name}={m.PeerUrl}"));
    }

    /// <summary>What a remaining member's bundle removes from the cluster, none on a joiner or a non-member.</summary>
    public IReadOnlyList<EtcdMember> RemovedBy(NodeSpec node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node.Is(Roles.Etcd) && !IsJoining(node) ? Removed : [];
    }
}
