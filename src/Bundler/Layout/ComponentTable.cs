using System.Collections.Immutable;
using Bundler.Configuration;

namespace Bundler.Layout;

/// <summary>A port a component binds: its name (the installer's health checks look ports up by it) and number.</summary>
public sealed record ComponentPort(string Name, int Number);

/// <summary>A command a component runs on the host without shipping it, and the package that provides it.</summary>
public sealed record HostCommand(string Command, string Package);

/// <summary>
/// One row of the roles table: a component of a node, which roles run it, what it ships and binds. A row with
/// <see cref="IsUnit"/> is the systemd unit <c>&lt;Name&gt;.service</c>; units start in table order.
/// </summary>
public sealed record ComponentSpec
{
    /// <summary>Unique; the unit name for units.</summary>
    public required string Name { get; init; }

    /// <summary>A node runs the component when it has any of these roles.</summary>
    public required Roles Roles { get; init; }

    public bool IsUnit { get; init; }

    /// <summary>
    /// A unit started by a systemd timer (<c>&lt;Name&gt;.timer</c> beside <c>&lt;Name&gt;.service</c>): the installer enables and
    /// starts the timer, never the oneshot service itself.
    /// </summary>
    public bool IsTimer { get; init; }

    /// <summary>What the installer starts and restarts: <c>&lt;Name&gt;.timer</c> for timer rows, else the service's name.</summary>
    public string UnitName => IsTimer ? Name + ".timer" : Name;

    /// <summary>Binaries from the lock whose change restarts the unit.</summary>
    public ImmutableArray<string> Binaries { get; init; } = [];

    /// <summary>Binaries from the lock that restart nothing when they change (command-line tools, plugins).</summary>
    public ImmutableArray<string> Tools { get; init; } = [];

    /// <summary>
    /// Tools shipped when the lock pins them and not required when it does not (etcdutl came with etcd 3.5; a lock of
    /// etcd 3.4 has none). Restart nothing.
    /// </summary>
    public ImmutableArray<string> OptionalTools { get; init; } = [];

    /// <summary>A binary the pipeline builds instead of fetching (kube-nginx, by the nginx step).</summary>
    public string? BuiltBinary { get; init; }

    /// <summary>
    /// The image archive the component imports, by the node's arch: built by the package step from the fetched images
    /// (SPEC §7) and shared between the nodes of an arch like a binary; a change re-runs the unit.
    /// </summary>
    public Func<Arch, string>? ImageArchive { get; init; }

    /// <summary>Ports the component binds whatever the site says.</summary>
    public ImmutableArray<ComponentPort> Ports { get; init; } = [];

    /// <summary>A port the site file chooses (apiServer.port, apiServer.localProxyPort).</summary>
    public Func<ApiServerSpec, ComponentPort>? SitePort { get; init; }

    /// <summary>Folders of data the component keeps on the node (uninstall keeps them unless --purge).</summary>
    public ImmutableArray<string> DataDirs { get; init; } = [];

    /// <summary>Commands it needs on the host (not shipped), by proxy mode; the installer's host-commands check.</summary>
    public Func<NetworkSpec, ImmutableArray<HostCommand>> HostCommands { get; init; } = _ => [];

    public bool RunsOn(Roles roles) => (roles & Roles) != Roles.None;

    public bool RunsOn(NodeSpec node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return RunsOn(node.Roles);
    }

    /// <summary>Every port it binds on a node of this site, the site's own first.</summary>
    public IEnumerable<ComponentPort> PortsOf(SiteSpec site)
    {
        ArgumentNullException.ThrowIfNull(site);
        return SitePort is null ? Ports : Ports.Prepend(SitePort(site.ApiServer));
    }

    /// <summary>The number of the port named <paramref name="name"/>.</summary>
    public int Port(string name) =>
        Ports.FirstOrDefault(p => p.Name == name)?.Number ?? throw new ArgumentException($"{Name} has no port named '{name}'", nameof(name));

    public override string ToString() => Name;
}

/// <summary>
/// The roles table: which role runs which component, and so which binaries, units (in start order, SPEC §3), ports
/// and data folders a node gets. The lock check, render, the certificate holders, the template table, packaging and
/// (through the bundle header) the installer all read it; adding a component is adding a row.
/// </summary>
public static class ComponentTable
{
    private const Roles EveryRole = Roles.Etcd | Roles.Master | Roles.Worker;

    /// <summary>
    /// Every master is also a node (SPEC §7): it runs containerd, a kubelet, kube-proxy and the CNI, so the apiserver
    /// reaches pod and service IPs (webhooks, aggregated APIs); without the worker role it is registered with the
    /// control-plane taint.
    /// </summary>
    private const Roles Nodes = Roles.Master | Roles.Worker;

    public static readonly ComponentSpec Containerd = new()
    {
        Name = "containerd", Roles = Nodes, IsUnit = true,
        Binaries = [NodePaths.Bin("containerd"), NodePaths.Bin("containerd-shim-runc-v2"), NodePaths.Bin("runc")],
        Tools = [NodePaths.Bin("ctr"), NodePaths.Bin("crictl")],
    };

    public static readonly ComponentSpec Etcd = new()
    {
        Name = "etcd", Roles = Roles.Etcd, IsUnit = true,
        Binaries = [NodePaths.Bin("etcd")],
        Tools = [NodePaths.Bin("etcdctl")],
        // Restores snapshots (etcd >= 3.5); the installer falls back to etcdctl snapshot restore without it.
        OptionalTools = [NodePaths.Bin("etcdutl")],
        Ports = [new("client", 2379), new("peer", 2380), new("metrics", 2381)],
        DataDirs = [NodePaths.EtcdDataDir],
    };

    public static readonly ComponentSpec KubeApiserver = new()
    {
        Name = "kube-apiserver", Roles = Roles.Master, IsUnit = true,
        Binaries = [NodePaths.Bin("kube-apiserver")],
        SitePort = api => new("secure", api.Port),
    };

    public static readonly ComponentSpec KubeControllerManager = new()
    {
        Name = "kube-controller-manager", Roles = Roles.Master, IsUnit = true,
        Binaries = [NodePaths.Bin("kube-controller-manager")],
        Ports = [new("secure", 10257)],
    };

    public static readonly ComponentSpec KubeScheduler = new()
    {
        Name = "kube-scheduler", Roles = Roles.Master, IsUnit = true,
        Binaries = [NodePaths.Bin("kube-scheduler")],
        Ports = [new("secure", 10259)],
    };

    /// <summary>Every node reaches the apiservers through its own kube-nginx on 127.0.0.1.</summary>
    public static readonly ComponentSpec KubeNginx = new()
    {
        Name = "kube-nginx", Roles = EveryRole, IsUnit = true,
        BuiltBinary = NodePaths.Bin("kube-nginx"),
        SitePort = api => new("proxy", api.LocalProxyPort),
    };

    /// <summary>
    /// A oneshot unit ordered after containerd and before the kubelet: imports the bundle's images-&lt;arch&gt;.tar with
    /// the bundle's ctr, skipping images already present, and pins the sandbox image (docs/images.md).
    /// </summary>
    public static readonly ComponentSpec Images = new()
    {
        Name = "kbundle-images", Roles = Nodes, IsUnit = true,
        ImageArchive = NodePaths.ImageArchive,
    };

    public static readonly ComponentSpec Kubelet = new()
    {
        Name = "kubelet", Roles = Nodes, IsUnit = true,
        Binaries = [NodePaths.Bin("kubelet")],
        Ports = [new("api", 10250), new("healthz", 10248)],
        DataDirs = [NodePaths.KubeletDir],
        // Port-forwarding and volume mounts.
        HostCommands = _ => [new("socat", "socat"), new("mount", "mount (util-linux)")],
    };

    public static readonly ComponentSpec KubeProxy = new()
    {
        Name = "kube-proxy", Roles = Nodes, IsUnit = true,
        Binaries = [NodePaths.Bin("kube-proxy")],
        Ports = [new("healthz", 10256), new("metrics", 10249)],
        // Stale conntrack entries of deleted Services are flushed with conntrack; the rules go in with the mode's tool.
        HostCommands = network => network.ProxyMode switch
        {
            ProxyMode.Nftables => [new HostCommand("conntrack", "conntrack (RHEL: conntrack-tools)"), new HostCommand("nft", "nftables")],
            ProxyMode.Ipvs => [new HostCommand("conntrack", "conntrack (RHEL: conntrack-tools)"), new HostCommand("ipset", "ipset"), new HostCommand("iptables", "iptables")],
            _ => [new HostCommand("conntrack", "conntrack (RHEL: conntrack-tools)"), new HostCommand("iptables", "iptables")],
        },
    };

    /// <summary>On workers too: the installer's kube-nginx health check speaks TLS through it with the kubelet's credentials.</summary>
    public static readonly ComponentSpec Kubectl = new()
    {
        Name = "kubectl", Roles = Roles.Master | Roles.Worker,
        Tools = [NodePaths.Bin("kubectl")],
    };

    public static readonly ComponentSpec CniPlugins = new()
    {
        Name = "cni-plugins", Roles = Nodes,
        Tools = [$"{NodePaths.CniBinDir}/bridge", $"{NodePaths.CniBinDir}/host-local", $"{NodePaths.CniBinDir}/loopback", $"{NodePaths.CniBinDir}/portmap"],
    };

    /// <summary>
    /// etcd members snapshot their store on the site's <c>etcdBackup.schedule</c> into <see cref="NodePaths.EtcdBackupDir"/>,
    /// keeping the newest <c>etcdBackup.keep</c> (SPEC §8).
    /// </summary>
    public static readonly ComponentSpec EtcdBackup = new()
    {
        Name = "kbundle-etcd-backup", Roles = Roles.Etcd, IsUnit = true, IsTimer = true,
    };

    /// <summary>Every node logs, daily, each certificate it holds that expires within the renewal window (SPEC §8).</summary>
    public static readonly ComponentSpec CertCheck = new()
    {
        Name = "kbundle-cert-check", Roles = EveryRole, IsUnit = true, IsTimer = true,
    };

    /// <summary>The table; units in start order.</summary>
    public static readonly ImmutableArray<ComponentSpec> Rows =
        [Containerd, Etcd, KubeApiserver, KubeControllerManager, KubeScheduler, KubeNginx, Images, Kubelet, KubeProxy, Kubectl, CniPlugins, EtcdBackup, CertCheck];

    public static ComponentSpec Row(string name) =>
        Rows.FirstOrDefault(r => r.Name == name) ?? throw new ArgumentException($"no component named '{name}'", nameof(name));

    /// <summary>The components a node with these roles runs, in table order.</summary>
    public static IEnumerable<ComponentSpec> For(Roles roles) => Rows.Where(r => r.RunsOn(roles));

    /// <summary>Binaries from the lock (built ones excluded) a node with these roles needs.</summary>
    public static IEnumerable<string> FetchedBinariesFor(Roles roles) =>
        For(roles).SelectMany(c => c.Binaries.Concat(c.Tools)).Distinct();

    /// <summary>The units a node with these roles starts, in start order (a timer row by its <c>.timer</c>).</summary>
    public static IReadOnlyList<string> UnitsFor(Roles roles) => For(roles).Where(c => c.IsUnit).Select(c => c.UnitName).ToList();

    public static IReadOnlyList<string> DataDirsFor(Roles roles) => For(roles).SelectMany(c => c.DataDirs).Distinct().ToList();

    /// <summary>Ports some component binds whatever the site says: the site's own ports must not take them.</summary>
    public static IReadOnlyList<int> FixedPorts => Rows.SelectMany(r => r.Ports).Select(p => p.Number).Distinct().Order().ToList();
}
