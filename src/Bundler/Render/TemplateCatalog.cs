using System.Collections.Immutable;
using Bundler.Configuration;
using Bundler.Layout;
using Bundler.Pki;
using static Bundler.Layout.ComponentTable;

namespace Bundler.Render;

/// <summary>
/// One rendered file: which template (path under bundle-templates/), where it lands on the node, which nodes get it.
/// <see cref="Identity"/> is set for kubeconfigs: the client credential embedded in the file.
/// </summary>
public sealed record TemplateSpec(
    string Template, string NodePath, FileKind Kind, Func<SiteSpec, NodeSpec, bool> When, UnixFileMode? Mode = null)
{
    public string? Identity { get; init; }

    /// <summary>Kubeconfigs: true = through kube-nginx (127.0.0.1:localProxyPort), false = the local apiserver.</summary>
    public bool ViaLocalProxy { get; init; }

    /// <summary>Units a change of the rendered file restarts.</summary>
    public ImmutableArray<ComponentSpec> Restarts { get; init; } = [];
}

/// <summary>
/// The table of every rendered file (SPEC §4). Adding a file is adding a row; RenderStep, the golden files and the
/// reference checks all read this one table.
/// </summary>
public static class TemplateCatalog
{
    public const string KubeconfigTemplate = "kubernetes/kubeconfig.yaml.sbn";

    /// <summary>Nodes that run the component (the roles table decides which).</summary>
    private static Func<SiteSpec, NodeSpec, bool> Running(ComponentSpec component) => (_, node) => component.RunsOn(node);

    /// <summary>Nodes that hold the key of a certificate table row (the certificate table decides which).</summary>
    private static Func<SiteSpec, NodeSpec, bool> HoldersOf(string certificate) => (site, node) => CertificateTable.Row(certificate).KeyGoesTo(site, node);

    private static bool Every(SiteSpec s, NodeSpec n) => true;

    /// <summary>The first master: it applies the bootstrap manifests and the add-ons, with the super-admin credential it alone holds.</summary>
    public static bool AppliesBootstrap(SiteSpec site, NodeSpec node) => HoldersOf("super-admin")(site, node);

    private static TemplateSpec Unit(ComponentSpec component) =>
        new($"units/{component.Name}.service.sbn", NodePaths.Unit(component.Name), FileKind.Unit, Running(component)) { Restarts = [component] };

    /// <summary>The timer of a timer row (<see cref="ComponentSpec.IsTimer"/>): what the installer enables and starts.</summary>
    private static TemplateSpec Timer(ComponentSpec component) =>
        new($"units/{component.Name}.timer.sbn", NodePaths.Timer(component.Name), FileKind.Unit, Running(component)) { Restarts = [component] };

    private static TemplateSpec Config(string template, string nodePath, Func<SiteSpec, NodeSpec, bool> when, params ComponentSpec[] restarts) =>
        new(template, nodePath, FileKind.Config, when) { Restarts = [.. restarts] };

    /// <summary>A kubeconfig goes where its credential may go (the certificate table's holders).</summary>
    private static TemplateSpec Kubeconfig(string identity, bool viaLocalProxy, params ComponentSpec[] restarts)
    {
        var credential = CertificateTable.CredentialRow(identity);
        return new(KubeconfigTemplate, credential.NodePath, FileKind.Kubeconfig, HoldersOf(credential.Name), NodeFile.Secret)
        {
            Identity = identity,
            ViaLocalProxy = viaLocalProxy,
            Restarts = [.. restarts],
        };
    }

    public static readonly IReadOnlyList<TemplateSpec> All =
    [
        .. ComponentTable.Rows.Where(c => c.IsUnit).Select(Unit),
        .. ComponentTable.Rows.Where(c => c.IsTimer).Select(Timer),

        // Day two (SPEC §8): etcd's membership (read only to start an empty data dir: restarts nothing), the backup and
        // certificate-check scripts their timers' services run (read at every run: restart nothing), the check's table.
        new("etcd/etcd-cluster.env.sbn", NodePaths.EtcdClusterEnv, FileKind.Config, Running(Etcd)),
        new("etcd/etcd-backup.sh.sbn", NodePaths.Libexec("etcd-backup.sh"), FileKind.Script, Running(EtcdBackup), NodeFile.Executable),
        new("kbundle/cert-check.sh.sbn", NodePaths.Libexec("cert-check.sh"), FileKind.Script, Running(CertCheck), NodeFile.Executable),
        new("kbundle/cert-expiry.tsv.sbn", NodePaths.CertExpiryTable, FileKind.Config, Running(CertCheck)),

        Config("kubernetes/encryption-config.yaml.sbn", NodePaths.EncryptionConfig, Running(KubeApiserver), KubeApiserver) with { Mode = NodeFile.Secret },
        Config("kubernetes/audit-policy.yaml.sbn", NodePaths.AuditPolicy, Running(KubeApiserver), KubeApiserver),
        Config("kubernetes/kube-scheduler-config.yaml.sbn", NodePaths.SchedulerConfig, Running(KubeScheduler), KubeScheduler),
        Config("kubernetes/kubelet-config.yaml.sbn", NodePaths.KubeletConfig, Running(Kubelet), Kubelet),
        Config("kubernetes/kube-proxy-config.yaml.sbn", NodePaths.KubeProxyConfig, Running(KubeProxy), KubeProxy),
        Config("kubernetes/pod-routes.conf.sbn", NodePaths.PodRoutes, Every),

        Kubeconfig("admin", viaLocalProxy: false),
        Kubeconfig("super-admin", viaLocalProxy: false),
        Kubeconfig("controller-manager", viaLocalProxy: false, KubeControllerManager),
        Kubeconfig("scheduler", viaLocalProxy: false, KubeScheduler),
        Kubeconfig("kubelet", viaLocalProxy: true, Kubelet),
        Kubeconfig("kube-proxy", viaLocalProxy: true, KubeProxy),

        // Applied by the first master (the first holder of the super-admin credential), in this order, then the add-ons.
        new("kubernetes/bootstrap/cluster-admins.yaml.sbn", NodePaths.BootstrapDir + "/cluster-admins.yaml", FileKind.Manifest, HoldersOf("super-admin")),
        new("kubernetes/bootstrap/apiserver-kubelet-client.yaml.sbn", NodePaths.BootstrapDir + "/apiserver-kubelet-client.yaml", FileKind.Manifest, HoldersOf("super-admin")),
        // The built-in add-on; a site's own add-ons ship their pinned manifests (RenderStep).
        new("addons/coredns.yaml.sbn", NodePaths.Addon(AddonSpec.CoreDns), FileKind.Manifest,
            (site, node) => site.HasAddon(AddonSpec.CoreDns) && AppliesBootstrap(site, node)),

        new("images/import.sh.sbn", NodePaths.ImportScript, FileKind.Script, Running(Images), NodeFile.Executable) { Restarts = [Images] },

        Config("containerd/config.toml.sbn", NodePaths.ContainerdConfig, Running(Containerd), Containerd),
        Config("containerd/crictl.yaml.sbn", NodePaths.CrictlConfig, Running(Containerd)),
        Config("cni/10-kbundle.conflist.sbn", NodePaths.CniConfDir + "/10-kbundle.conflist", Running(CniPlugins)),
        Config("cni/99-loopback.conf.sbn", NodePaths.CniConfDir + "/99-loopback.conf", Running(CniPlugins)),
        Config("nginx/nginx.conf.sbn", NodePaths.NginxConf, Running(KubeNginx), KubeNginx),
        Config("system/sysctl.conf.sbn", NodePaths.Sysctl, Every),
        Config("system/modules-load.conf.sbn", NodePaths.ModulesLoad, Every),
    ];

    /// <summary>
    /// What the first master applies once its apiserver is healthy, in order (SPEC §7): the bootstrap RBAC rows of this
    /// table, then every add-on in site order (built-in ones rendered above, the others shipped as fetched).
    /// </summary>
    public static IReadOnlyList<string> BootstrapManifests(SiteSpec site)
    {
        ArgumentNullException.ThrowIfNull(site);
        return
        [
            .. All.Where(t => t.Kind == FileKind.Manifest && t.NodePath.StartsWith(NodePaths.BootstrapDir + "/", StringComparison.Ordinal)).Select(t => t.NodePath),
            .. site.Addons.Select(a => NodePaths.Addon(a.Name)),
        ];
    }

    /// <summary>The rows a node receives, in table order.</summary>
    public static IEnumerable<TemplateSpec> For(SiteSpec site, NodeSpec node) => All.Where(t => t.When(site, node));

    /// <summary>The user name a kubeconfig identity authenticates as: its certificate's CN (the certificate table's row).</summary>
    public static string UserFor(string identity, SiteSpec site, NodeSpec node) => CertificateTable.CredentialRow(identity).CommonName(site, node);
}
