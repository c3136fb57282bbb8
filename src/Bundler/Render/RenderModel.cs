using System.Text;
using Bundler.Configuration;
using Bundler.Layout;
using Bundler.Pki;
using Bundler.Rollout;

namespace Bundler.Render;

/// <summary>
/// What a template sees (documented in docs/templates.md). Every value is computed here, so templates only place
/// values and never compute them.
/// </summary>
public static class RenderModel
{
    /// <param name="images">The images the site's kubelet nodes carry (the fetch step's, in lock order).</param>
    /// <param name="etcd">The site's etcd membership against the running build (who joins); a site never built when null.</param>
    public static Dictionary<string, object?> For(SiteSpec site, NodeSpec node, IReadOnlyDictionary<string, string> versions, PkiMaterial pki,
        IReadOnlyList<LockImage> images, EtcdCluster? etcd = null)
    {
        ArgumentNullException.ThrowIfNull(site);
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(versions);
        ArgumentNullException.ThrowIfNull(pki);
        ArgumentNullException.ThrowIfNull(images);
        etcd ??= new EtcdCluster(site, null);
        var n = site.Network;
        return new Dictionary<string, object?>
        {
            ["site"] = new Dictionary<string, object?>
            {
                ["name"] = site.Name,
                ["clusterDomain"] = n.ClusterDomain,
                ["serviceCidr"] = n.ServiceCidr.ToString(),
                ["podCidr"] = n.PodCidr.ToString(),
                ["nodePortRange"] = n.NodePortRange,
                ["kubernetesServiceIp"] = n.KubernetesServiceIp.ToString(),
                ["clusterDnsIp"] = n.ClusterDnsIp.ToString(),
                ["proxyMode"] = Names.Of(n.ProxyMode),
                ["apiServerPort"] = site.ApiServer.Port,
                ["localProxyPort"] = site.ApiServer.LocalProxyPort,
                ["caKeyOnMasters"] = site.Pki.CaKeyOnMasters,
                ["leafValidityHours"] = site.Pki.LeafValidityDays * 24,
            },
            ["node"] = new Dictionary<string, object?>
            {
                ["name"] = node.Name,
                ["ip"] = node.Ip.ToString(),
                ["podSubnet"] = site.PodSubnetOf(node).ToString(),
                ["isEtcd"] = node.Is(Roles.Etcd),
                ["isMaster"] = node.Is(Roles.Master),
                ["isWorker"] = node.Is(Roles.Worker),
                ["isFirstMaster"] = node.Is(Roles.Master) && site.FirstMaster.Name == node.Name,
            },
            ["etcd"] = new Dictionary<string, object?>
            {
                // This member's: a member that joins a running cluster starts with what the cluster has once it is added.
                ["initialCluster"] = etcd.InitialCluster(node),
                ["initialClusterState"] = etcd.InitialClusterState(node),
                ["token"] = EtcdCluster.Token(site),
                ["clientUrls"] = string.Join(",", etcd.Members.Select(m => m.ClientUrl)),
                ["clientPort"] = ComponentTable.Etcd.Port("client"),
            },
            ["etcdBackup"] = new Dictionary<string, object?>
            {
                ["schedule"] = site.EtcdBackup.Schedule,
                ["keep"] = site.EtcdBackup.Keep,
            },
            // The not-after of every certificate the node holds (files and kubeconfigs), for the daily certificate check.
            ["certificates"] = pki.CertificatesFor(node).Select(c => (object?)new Dictionary<string, object?>
            {
                ["id"] = c.Id,
                ["path"] = c.Path,
                ["notAfter"] = c.NotAfter.ToUnixTimeSeconds(),
                ["notAfterText"] = c.NotAfter.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
            }).ToList(),
            ["certCheck"] = new Dictionary<string, object?> { ["warnDays"] = PkiSettings.RenewalWindowDays },
            ["masters"] = site.Masters.Select(m => new Dictionary<string, object?> { ["name"] = m.Name, ["ip"] = m.Ip.ToString() }).ToList(),
            // Every OTHER node with a pod network (masters too, SPEC §7): its pod /24 is reached through its node IP.
            ["routes"] = site.Nodes.Where(w => ComponentTable.CniPlugins.RunsOn(w) && w.Name != node.Name)
                .Select(w => new Dictionary<string, object?> { ["subnet"] = site.PodSubnetOf(w).ToString(), ["via"] = w.Ip.ToString() }).ToList(),
            ["modules"] = ModulesFor(n.ProxyMode),
            ["versions"] = new Dictionary<string, object?>
            {
                ["kubernetes"] = site.Kubernetes,
                ["etcd"] = versions.GetValueOrDefault("etcd", "?"),
                ["containerd"] = versions.GetValueOrDefault("containerd", "?"),
            },
            // By lock name: images.pause.pinnedRef, images.coredns.ref, images["my-app"].digest.
            ["images"] = images.ToDictionary(i => i.Name, i => (object?)new Dictionary<string, object?>
            {
                ["ref"] = i.Ref,
                ["pinnedRef"] = i.PinnedRef,
                ["digest"] = i.Digest,
            }),
            ["imageArchive"] = ImageArchiveModel(node, images),
            ["paths"] = Paths,
            // Only apiservers carry the encryption key (pki-spec §1c); other nodes never see it, not even in memory here.
            ["encryption"] = new Dictionary<string, object?> { ["keyBase64"] = ComponentTable.KubeApiserver.RunsOn(node) ? pki.EncryptionKeyBase64 : "" },
        };
    }

    /// <summary>The model for one kubeconfig: the node's model plus the credential of <paramref name="spec"/>.</summary>
    public static Dictionary<string, object?> ForKubeconfig(
        Dictionary<string, object?> nodeModel, SiteSpec site, NodeSpec node, TemplateSpec spec, PkiMaterial pki)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(pki);
        var identity = spec.Identity ?? throw new ArgumentException("not a kubeconfig row", nameof(spec));
        var credential = pki.ClientCredential(identity, node);
        var port = spec.ViaLocalProxy ? site.ApiServer.LocalProxyPort : site.ApiServer.Port;
        return new Dictionary<string, object?>(nodeModel)
        {
            ["kubeconfig"] = new Dictionary<string, object?>
            {
                ["file"] = Path.GetFileName(spec.NodePath),
                ["user"] = TemplateCatalog.UserFor(identity, site, node),
                ["server"] = $"https://127.0.0.1:{port}",
                ["caData"] = Base64(pki.CaCertificatePem),
                ["certData"] = Base64(credential.CertificatePem),
                ["keyData"] = Base64(credential.KeyPem),
            },
        };
    }

    /// <summary>What the kbundle-images unit's script needs: the archive, its platform, each name it must find with its digest.</summary>
    private static Dictionary<string, object?> ImageArchiveModel(NodeSpec node, IReadOnlyList<LockImage> images)
    {
        static IEnumerable<string> NamesOf(LockImage image) =>
            image.Reference.TagName is { } tagged ? [tagged, image.PinnedRef] : [image.PinnedRef];
        var sandbox = images.FirstOrDefault(i => i.Name == LockFile.SandboxImage);
        return new Dictionary<string, object?>
        {
            ["path"] = NodePaths.ImageArchive(node.Arch),
            ["platform"] = "linux/" + Names.Of(node.Arch),
            ["names"] = images.SelectMany(i => NamesOf(i).Select(name => (object?)new Dictionary<string, object?> { ["name"] = name, ["digest"] = i.Digest }))
                .ToList(),
            ["sandbox"] = sandbox is null ? new List<string>() : NamesOf(sandbox).ToList(),
        };
    }

    private static string Base64(string pem) => Convert.ToBase64String(Encoding.ASCII.GetBytes(pem));

    private static List<string> ModulesFor(ProxyMode mode) => mode switch
    {
        ProxyMode.Ipvs => ["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh", "nf_conntrack"],
        ProxyMode.Nftables => ["nf_tables"],
        _ => [],
    };

    private static readonly Dictionary<string, object?> Paths = new()
    {
        ["binDir"] = NodePaths.BinDir,
        ["cniBinDir"] = NodePaths.CniBinDir,
        ["cniConfDir"] = NodePaths.CniConfDir,
        ["kubernetesDir"] = NodePaths.KubernetesDir,
        ["pkiDir"] = NodePaths.PkiDir,
        ["etcdPkiDir"] = NodePaths.EtcdPkiDir,
        ["etcdDataDir"] = NodePaths.EtcdDataDir,
        ["kubeletDir"] = NodePaths.KubeletDir,
        ["nginxConf"] = NodePaths.NginxConf,
        ["containerdConfig"] = NodePaths.ContainerdConfig,
        ["encryptionConfig"] = NodePaths.EncryptionConfig,
        ["auditPolicy"] = NodePaths.AuditPolicy,
        ["kubeletConfig"] = NodePaths.KubeletConfig,
        ["kubeProxyConfig"] = NodePaths.KubeProxyConfig,
        ["schedulerConfig"] = NodePaths.SchedulerConfig,
        ["containerdSocket"] = NodePaths.ContainerdSocket,
        ["importScript"] = NodePaths.ImportScript,
        ["etcdClusterEnv"] = NodePaths.EtcdClusterEnv,
        ["etcdBackupDir"] = NodePaths.EtcdBackupDir,
        ["etcdBackupScript"] = NodePaths.Libexec("etcd-backup.sh"),
        ["certCheckScript"] = NodePaths.Libexec("cert-check.sh"),
        ["certExpiryTable"] = NodePaths.CertExpiryTable,
        ["etcdCaCert"] = CertificateTable.Row(CertificateTable.EtcdCa).NodePath,
        ["etcdHealthCert"] = CertificateTable.Row("etcd/healthcheck-client").NodePath,
        ["etcdHealthKey"] = CertificateTable.Row("etcd/healthcheck-client").KeyNodePath,
    };
}
