using Bundler.Configuration;
using Bundler.Layout;

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
}

/// <summary>
/// The table of every rendered file (SPEC §4). Adding a file is adding a row; RenderStep, the golden files and the
/// reference checks all read this one table.
/// </summary>
public static class TemplateCatalog
{
    /// <summary>The sandbox image containerd pins (reference pins.yaml; the kubelet flag for it was removed in 1.35).</summary>
    public const string SandboxImage = "registry.k8s.io/pause:3.10.2";

    public const string BootstrapDir = NodePaths.KubernetesDir + "/bootstrap";
    public const string PodRoutes = NodePaths.KubernetesDir + "/pod-routes.conf";
    public const string KubeconfigTemplate = "kubernetes/kubeconfig.yaml.sbn";

    private static bool Etcd(SiteSpec s, NodeSpec n) => n.Is(Roles.Etcd);
    private static bool Master(SiteSpec s, NodeSpec n) => n.Is(Roles.Master);
    private static bool Worker(SiteSpec s, NodeSpec n) => n.Is(Roles.Worker);
    private static bool FirstMaster(SiteSpec s, NodeSpec n) => n.Is(Roles.Master) && s.FirstMaster.Name == n.Name;
    private static bool Every(SiteSpec s, NodeSpec n) => true;

    private static TemplateSpec Unit(string name, Func<SiteSpec, NodeSpec, bool> when) =>
        new($"units/{name}.service.sbn", NodePaths.Unit(name), FileKind.Unit, when);

    private static TemplateSpec Kubeconfig(string file, string identity, bool viaLocalProxy, Func<SiteSpec, NodeSpec, bool> when) =>
        new(KubeconfigTemplate, NodePaths.Kubeconfig(file), FileKind.Kubeconfig, when, NodeFile.Secret)
        {
            Identity = identity,
            ViaLocalProxy = viaLocalProxy,
        };

    public static readonly IReadOnlyList<TemplateSpec> All =
    [
        Unit("etcd", Etcd),
        Unit("kube-apiserver", Master),
        Unit("kube-controller-manager", Master),
        Unit("kube-scheduler", Master),
        Unit("containerd", Worker),
        Unit("kubelet", Worker),
        Unit("kube-proxy", Worker),
        Unit("kube-nginx", Every),

        new("kubernetes/encryption-config.yaml.sbn", NodePaths.EncryptionConfig, FileKind.Config, Master, NodeFile.Secret),
        new("kubernetes/audit-policy.yaml.sbn", NodePaths.AuditPolicy, FileKind.Config, Master),
        new("kubernetes/kube-scheduler-config.yaml.sbn", NodePaths.SchedulerConfig, FileKind.Config, Master),
        new("kubernetes/kubelet-config.yaml.sbn", NodePaths.KubeletConfig, FileKind.Config, Worker),
        new("kubernetes/kube-proxy-config.yaml.sbn", NodePaths.KubeProxyConfig, FileKind.Config, Worker),
        new("kubernetes/pod-routes.conf.sbn", PodRoutes, FileKind.Config, Every),

        Kubeconfig("admin", "admin", viaLocalProxy: false, Master),
        Kubeconfig("super-admin", "super-admin", viaLocalProxy: false, FirstMaster),
        Kubeconfig("controller-manager", "controller-manager", viaLocalProxy: false, Master),
        Kubeconfig("scheduler", "scheduler", viaLocalProxy: false, Master),
        Kubeconfig("kubelet", "kubelet", viaLocalProxy: true, Worker),
        Kubeconfig("kube-proxy", "kube-proxy", viaLocalProxy: true, Worker),

        new("kubernetes/bootstrap/cluster-admins.yaml.sbn", BootstrapDir + "/cluster-admins.yaml", FileKind.Manifest, FirstMaster),
        new("kubernetes/bootstrap/apiserver-kubelet-client.yaml.sbn", BootstrapDir + "/apiserver-kubelet-client.yaml", FileKind.Manifest, FirstMaster),

        new("containerd/config.toml.sbn", NodePaths.ContainerdConfig, FileKind.Config, Worker),
        new("containerd/crictl.yaml.sbn", NodePaths.CrictlConfig, FileKind.Config, Worker),
        new("cni/10-kbundle.conflist.sbn", NodePaths.CniConfDir + "/10-kbundle.conflist", FileKind.Config, Worker),
        new("cni/99-loopback.conf.sbn", NodePaths.CniConfDir + "/99-loopback.conf", FileKind.Config, Worker),
        new("nginx/nginx.conf.sbn", NodePaths.NginxConf, FileKind.Config, Every),
        new("system/sysctl.conf.sbn", NodePaths.Sysctl, FileKind.Config, Every),
        new("system/modules-load.conf.sbn", NodePaths.ModulesLoad, FileKind.Config, Every),
    ];

    /// <summary>The rows a node receives, in table order.</summary>
    public static IEnumerable<TemplateSpec> For(SiteSpec site, NodeSpec node) => All.Where(t => t.When(site, node));

    /// <summary>The user name a kubeconfig identity authenticates as (pki-spec §1b: the certificate's CN).</summary>
    public static string UserFor(string identity, NodeSpec node) => identity switch
    {
        "admin" => "kubernetes-admin",
        "super-admin" => "kubernetes-super-admin",
        "controller-manager" => "system:kube-controller-manager",
        "scheduler" => "system:kube-scheduler",
        "kubelet" => $"system:node:{node.Name}",
        "kube-proxy" => "system:kube-proxy",
        _ => throw new ArgumentOutOfRangeException(nameof(identity), identity, "unknown kubeconfig identity"),
    };
}
