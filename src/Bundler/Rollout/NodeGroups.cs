using Bundler.Configuration;

namespace Bundler.Rollout;

/// <summary>The groups a site's nodes are installed and rolled out in, first to last.</summary>
public enum NodeGroup { Etcd, Masters, Workers }

/// <summary>
/// Which group a node belongs to: the first one any of its roles puts it in (an etcd member that is also a master goes
/// with the etcd members). The one source of the order INSTALL.txt, <c>build</c> and <c>plan</c> print.
/// </summary>
public static class NodeGroups
{
    public static NodeGroup Of(Roles roles) =>
        roles.HasFlag(Roles.Etcd) ? NodeGroup.Etcd : roles.HasFlag(Roles.Master) ? NodeGroup.Masters : NodeGroup.Workers;

    /// <summary>The same for roles as a manifest spells them (<c>etcd</c>, <c>master</c>, <c>worker</c>).</summary>
    public static NodeGroup Of(IEnumerable<string> roles) => Of(RolesOf(roles));

    public static Roles RolesOf(IEnumerable<string> roles)
    {
        ArgumentNullException.ThrowIfNull(roles);
        return roles.Aggregate(Roles.None, (all, r) => all | r switch { "etcd" => Roles.Etcd, "master" => Roles.Master, "worker" => Roles.Worker, _ => Roles.None });
    }
}
