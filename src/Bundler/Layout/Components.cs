using Bundler.Configuration;

namespace Bundler.Layout;

/// <summary>
/// Which binaries each role needs on a node (SPEC §4). The lock maps archive members to these paths; the
/// build checks the lock provides every one for every arch in the site.
/// </summary>
public static class Components
{
    public static readonly IReadOnlyList<string> EtcdBinaries = [NodePaths.Bin("etcd"), NodePaths.Bin("etcdctl")];

    public static readonly IReadOnlyList<string> MasterBinaries =
        [NodePaths.Bin("kube-apiserver"), NodePaths.Bin("kube-controller-manager"), NodePaths.Bin("kube-scheduler"), NodePaths.Bin("kubectl")];

    /// <summary>kubectl too: the installer's kube-nginx health check speaks TLS through it with the kubelet's credentials.</summary>
    public static readonly IReadOnlyList<string> WorkerBinaries =
    [
        NodePaths.Bin("kubelet"), NodePaths.Bin("kubectl"), NodePaths.Bin("kube-proxy"), NodePaths.Bin("containerd"), NodePaths.Bin("containerd-shim-runc-v2"),
        NodePaths.Bin("ctr"), NodePaths.Bin("runc"), NodePaths.Bin("crictl"),
        $"{NodePaths.CniBinDir}/bridge", $"{NodePaths.CniBinDir}/host-local", $"{NodePaths.CniBinDir}/loopback", $"{NodePaths.CniBinDir}/portmap",
    ];

    /// <summary>Built by the nginx step, not fetched: every node runs kube-nginx in front of the apiservers.</summary>
    public static readonly string KubeNginx = NodePaths.Bin("kube-nginx");

    /// <summary>Binaries from the lock (kube-nginx excluded) a node with these roles needs.</summary>
    public static IEnumerable<string> FetchedBinariesFor(Roles roles)
    {
        var paths = new List<string>();
        if (roles.HasFlag(Roles.Etcd))
            paths.AddRange(EtcdBinaries);
        if (roles.HasFlag(Roles.Master))
            paths.AddRange(MasterBinaries);
        if (roles.HasFlag(Roles.Worker))
            paths.AddRange(WorkerBinaries);
        return paths.Distinct();
    }

    /// <summary>The units a node with these roles starts, in start order (SPEC §3).</summary>
    public static IReadOnlyList<string> UnitsFor(Roles roles) =>
        NodePaths.UnitStartOrder.Where(unit => unit switch
        {
            "etcd" => roles.HasFlag(Roles.Etcd),
            "kube-apiserver" or "kube-controller-manager" or "kube-scheduler" => roles.HasFlag(Roles.Master),
            "containerd" or "kubelet" or "kube-proxy" => roles.HasFlag(Roles.Worker),
            "kube-nginx" => true,
            _ => false,
        }).ToList();
}
