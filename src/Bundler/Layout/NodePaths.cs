namespace Bundler.Layout;

/// <summary>
/// Every path on a node (SPEC §4), named once. kubeadm names where kubeadm has one. Templates, the PKI
/// distribution table, the packager and (through the bundle header) the installer all take paths from here.
/// </summary>
public static class NodePaths
{
    public const string BinDir = "/opt/k8s/bin";
    public const string CniBinDir = "/opt/cni/bin";
    public const string KubernetesDir = "/etc/kubernetes";
    public const string PkiDir = "/etc/kubernetes/pki";
    public const string EtcdPkiDir = "/etc/kubernetes/pki/etcd";
    public const string NginxConf = "/etc/kube-nginx/nginx.conf";
    public const string ContainerdConfig = "/etc/containerd/config.toml";
    public const string CrictlConfig = "/etc/crictl.yaml";
    public const string CniConfDir = "/etc/cni/net.d";
    public const string UnitDir = "/etc/systemd/system";
    public const string Sysctl = "/etc/sysctl.d/99-kubernetes.conf";
    public const string ModulesLoad = "/etc/modules-load.d/kubernetes.conf";
    public const string EtcdDataDir = "/var/lib/etcd";
    public const string KubeletDir = "/var/lib/kubelet";
    /// <summary>The installer's own folder: journal, backups, the check log (docs/bundle-format.md).</summary>
    public const string StateDir = "/var/lib/kbundle";
    public const string InstallLog = "/var/log/kbundle-install.log";
    /// <summary>Masters: the installer copies admin.conf here so kubectl works for root.</summary>
    public const string RootKubeconfig = "/root/.kube/config";
    public const string ContainerdSocket = "/run/containerd/containerd.sock";

    public static string Bin(string name) => $"{BinDir}/{name}";

    public static string Pki(string relative) => $"{PkiDir}/{relative}";

    public static string Kubeconfig(string name) => $"{KubernetesDir}/{name}.conf";

    public static string Config(string file) => $"{KubernetesDir}/{file}";

    public static string Unit(string name) => $"{UnitDir}/{name}.service";

    public static string Timer(string name) => $"{UnitDir}/{name}.timer";

    /// <summary>Scripts the node's own units run (the etcd backup, the certificate check).</summary>
    public const string LibexecDir = "/opt/k8s/libexec";

    public static string Libexec(string name) => $"{LibexecDir}/{name}";

    /// <summary>
    /// etcd's membership settings (ETCD_INITIAL_CLUSTER*), read by the etcd unit: etcd uses them only to start an empty
    /// data dir, so a change (a member added or removed elsewhere) restarts nothing.
    /// </summary>
    public const string EtcdClusterEnv = "/etc/kubernetes/etcd-cluster.env";

    /// <summary>The etcd backup timer's snapshots (SPEC §8).</summary>
    public const string EtcdBackupDir = StateDir + "/etcd-backups";

    /// <summary>The not-after of every certificate the node holds, which the daily certificate check compares with the clock.</summary>
    public const string CertExpiryTable = KubernetesDir + "/cert-expiry.tsv";

    public const string EncryptionConfig = KubernetesDir + "/encryption-config.yaml";
    public const string AuditPolicy = KubernetesDir + "/audit-policy.yaml";
    public const string KubeletConfig = KubernetesDir + "/kubelet-config.yaml";
    public const string KubeProxyConfig = KubernetesDir + "/kube-proxy-config.yaml";
    public const string SchedulerConfig = KubernetesDir + "/kube-scheduler-config.yaml";
    public const string PodRoutes = KubernetesDir + "/pod-routes.conf";
    /// <summary>Manifests the first master applies once its apiserver is healthy.</summary>
    public const string BootstrapDir = KubernetesDir + "/bootstrap";

    /// <summary>Add-on manifests (SPEC §7) the first master applies after the bootstrap ones, in site order.</summary>
    public const string AddonsDir = KubernetesDir + "/addons";

    public static string Addon(string name) => $"{AddonsDir}/{name}.yaml";

    /// <summary>The bundle's images and the script the kbundle-images unit runs to import them.</summary>
    public const string ImagesDir = "/opt/k8s/images";
    public const string ImportScript = ImagesDir + "/import.sh";

    public static string ImageArchive(Configuration.Arch arch) => $"{ImagesDir}/images-{Configuration.Names.Of(arch)}.tar";
}
