using System.Collections.Immutable;
using System.Net;
using Bundler.Configuration;
using Bundler.Layout;

namespace Bundler.Pki;

public enum CertificateKind { Authority, KeyPair, Leaf }

[Flags]
public enum ExtendedUsage { None = 0, ServerAuth = 1, ClientAuth = 2 }

/// <summary>One certificate per cluster, or one per node that has a role.</summary>
public enum Per { Cluster, Master, EtcdMember, Worker }

/// <summary>How a node receives the material: as files under /etc/kubernetes/pki, or embedded in a kubeconfig by render.</summary>
public enum Delivery { Files, Kubeconfig }

/// <summary>Which nodes may hold a certificate or a key (least privilege, issue 4).</summary>
public enum Holders
{
    Nobody,
    AllNodes,
    /// <summary>Nodes that run an apiserver or a kubelet: etcd-only nodes have no use for the cluster CA.</summary>
    MastersAndWorkers,
    Masters,
    EtcdMembers,
    EtcdMembersAndMasters,
    Workers,
    /// <summary><c>site.FirstMaster</c> only: its installer applies the bootstrap RBAC once, then deletes the credential.</summary>
    FirstMaster,
    /// <summary>Masters, and only when <c>pki.caKeyOnMasters: true</c> (controller-manager signs CSRs).</summary>
    MastersWhenCaKeyOnMasters,
    /// <summary>Only the node the certificate was issued for.</summary>
    Owner,
}

/// <summary>
/// One row of the certificate table (kubeadm <c>certlist.go</c> style). Generation, distribution, <c>kbundle certs</c>
/// and the tests all read <see cref="CertificateTable.Rows"/>; adding a certificate is adding a row.
/// </summary>
public sealed record CertificateSpec
{
    /// <summary>Unique; the file stem on the node and in state (<c>etcd/server</c> → etcd/server.crt, etcd/server.key).</summary>
    public required string Name { get; init; }
    public required CertificateKind Kind { get; init; }
    /// <summary>The <see cref="Name"/> of the issuing authority row; null for authorities and the SA key pair.</summary>
    public string? Issuer { get; init; }
    public ExtendedUsage Usages { get; init; }
    public Per Per { get; init; } = Per.Cluster;
    public Func<SiteSpec, NodeSpec?, string> CommonName { get; init; } = (_, _) => "";
    public Func<SiteSpec, NodeSpec?, IReadOnlyList<string>> Organizations { get; init; } = (_, _) => [];
    /// <summary>DNS names and IP addresses, in order; IPs are recognised by parsing.</summary>
    public Func<SiteSpec, NodeSpec?, IReadOnlyList<string>> Sans { get; init; } = (_, _) => [];
    public Delivery Delivery { get; init; } = Delivery.Files;
    public Holders CertificateHolders { get; init; }
    public Holders KeyHolders { get; init; }
    /// <summary>The kubeconfig user this credential is for ("admin", "kubelet", ...); null for file rows.</summary>
    public string? Identity { get; init; }
    /// <summary>Where it lands on a node: the .crt path for files, the kubeconfig path for credentials.</summary>
    public required string NodePath { get; init; }
    public string? KeyNodePath { get; init; }

    public bool IsAuthority => Kind == CertificateKind.Authority;
}

/// <summary>The certificate table of a cluster (pki-spec.md §1) and its expansion for one site.</summary>
public static class CertificateTable
{
    public const string Ca = "ca";
    public const string EtcdCa = "etcd/ca";
    public const string FrontProxyCa = "front-proxy-ca";
    public const string ServiceAccount = "sa";

    public static readonly ImmutableArray<CertificateSpec> Rows =
    [
        // Authorities. Subjects carry the site name and a per-generation id (O, OU) so two clusters' or two
        // generations' CAs never share a DN: chain builders pick issuers by DN (pki-spec.md §6.7).
        Authority(Ca, "kubernetes-ca", certificateTo: Holders.MastersAndWorkers, keyTo: Holders.MastersWhenCaKeyOnMasters),
        Authority(EtcdCa, "etcd-ca", certificateTo: Holders.EtcdMembersAndMasters, keyTo: Holders.Nobody),
        Authority(FrontProxyCa, "kubernetes-front-proxy-ca", certificateTo: Holders.Masters, keyTo: Holders.Nobody),
        new()
        {
            // Its own key pair, never the CA key (KTHW#230); the same on every master (kubernetes/kops#9534).
            Name = ServiceAccount, Kind = CertificateKind.KeyPair, CertificateHolders = Holders.Masters, KeyHolders = Holders.Masters,
            NodePath = NodePaths.Pki("sa.pub"), KeyNodePath = NodePaths.Pki("sa.key"),
        },

        // Master files.
        Leaf("apiserver", Ca, ExtendedUsage.ServerAuth, Per.Master, (_, _) => "kube-apiserver", holders: Holders.Owner,
            sans: (site, node) =>
            [
                "kubernetes", "kubernetes.default", "kubernetes.default.svc", $"kubernetes.default.svc.{site.Network.ClusterDomain}",
                node!.Name, node.Ip.ToString(), site.Network.KubernetesServiceIp.ToString(),
                // kubelet and kube-proxy reach the apiservers through kube-nginx on 127.0.0.1 (pki-spec.md §1b row 1).
                "127.0.0.1", .. site.ApiServer.ExtraSans,
            ]),
        // No O: system:masters would bypass RBAC; a ClusterRoleBinding to system:kubelet-api-admin grants what it needs.
        Leaf("apiserver-kubelet-client", Ca, ExtendedUsage.ClientAuth, Per.Cluster, (_, _) => "kube-apiserver-kubelet-client", Holders.Masters),
        Leaf("apiserver-etcd-client", EtcdCa, ExtendedUsage.ClientAuth, Per.Cluster, (_, _) => "kube-apiserver-etcd-client", Holders.Masters),
        Leaf("front-proxy-client", FrontProxyCa, ExtendedUsage.ClientAuth, Per.Cluster, (_, _) => "front-proxy-client", Holders.Masters),

        // etcd files. Server certs also act as clients (etcd-io/etcd#9785); the peer cert must hold the IP the
        // member dials from, or etcd rejects it (etcd op-guide/security.md).
        Leaf("etcd/server", EtcdCa, ExtendedUsage.ServerAuth | ExtendedUsage.ClientAuth, Per.EtcdMember, (_, node) => node!.Name,
            Holders.Owner, sans: EtcdSans),
        Leaf("etcd/peer", EtcdCa, ExtendedUsage.ServerAuth | ExtendedUsage.ClientAuth, Per.EtcdMember, (_, node) => node!.Name,
            Holders.Owner, sans: EtcdSans),
        // The installer's health check (etcdctl endpoint health) runs on each member with this.
        Leaf("etcd/healthcheck-client", EtcdCa, ExtendedUsage.ClientAuth, Per.Cluster, (_, _) => "kube-etcd-healthcheck-client", Holders.EtcdMembers),

        // Worker files: a pre-issued serving cert, so no CSR waits for a human approval.
        Leaf("kubelet", Ca, ExtendedUsage.ServerAuth, Per.Worker, (_, node) => $"system:node:{node!.Name}", Holders.Owner,
            organizations: (_, _) => ["system:nodes"], sans: (_, node) => [node!.Name, node.Ip.ToString()]),

        // Kubeconfig credentials (render embeds them).
        Credential("admin", "admin", (_, _) => "kubernetes-admin", Holders.Masters, organizations: (_, _) => ["kubeadm:cluster-admins"]),
        Credential("super-admin", "super-admin", (_, _) => "kubernetes-super-admin", Holders.FirstMaster,
            organizations: (_, _) => ["system:masters"]),
        Credential("controller-manager", "controller-manager", (_, _) => "system:kube-controller-manager", Holders.Masters),
        Credential("scheduler", "scheduler", (_, _) => "system:kube-scheduler", Holders.Masters),
        Credential("kube-proxy", "kube-proxy", (_, _) => "system:kube-proxy", Holders.Workers),
        Credential("kubelet-client", "kubelet", (_, node) => $"system:node:{node!.Name}", Holders.Owner, per: Per.Worker,
            organizations: (_, _) => ["system:nodes"], kubeconfig: "kubelet"),
    ];

    public static CertificateSpec Row(string name) =>
        Rows.FirstOrDefault(r => r.Name == name) ?? throw new ArgumentException($"no certificate row named '{name}'", nameof(name));

    /// <summary>Every certificate and key pair of this site, in table order (issuers before their leaves).</summary>
    public static IReadOnlyList<CertificateInstance> Expand(SiteSpec site)
    {
        ArgumentNullException.ThrowIfNull(site);
        var instances = new List<CertificateInstance>();
        foreach (var row in Rows)
        {
            var owners = row.Per switch
            {
                Per.Master => site.Masters.Select(n => (NodeSpec?)n),
                Per.EtcdMember => site.EtcdMembers.Select(n => (NodeSpec?)n),
                Per.Worker => site.Workers.Select(n => (NodeSpec?)n),
                _ => new NodeSpec?[] { null },
            };
            foreach (var node in owners)
                instances.Add(CertificateInstance.Create(site, row, node));
        }
        return instances;
    }

    /// <summary>Whether <paramref name="node"/> may hold material with these holders (<paramref name="owner"/>: the node it was issued for).</summary>
    public static bool Holds(Holders holders, SiteSpec site, NodeSpec node, NodeSpec? owner) => holders switch
    {
        Holders.AllNodes => true,
        Holders.MastersAndWorkers => node.Is(Roles.Master) || node.Is(Roles.Worker),
        Holders.Masters => node.Is(Roles.Master),
        Holders.EtcdMembers => node.Is(Roles.Etcd),
        Holders.EtcdMembersAndMasters => node.Is(Roles.Etcd) || node.Is(Roles.Master),
        Holders.Workers => node.Is(Roles.Worker),
        Holders.FirstMaster => node.Is(Roles.Master) && node.Name == site.FirstMaster.Name,
        Holders.MastersWhenCaKeyOnMasters => site.Pki.CaKeyOnMasters && node.Is(Roles.Master),
        Holders.Owner => owner is not null && owner.Name == node.Name,
        _ => false,
    };

    private static IReadOnlyList<string> EtcdSans(SiteSpec site, NodeSpec? node) => [node!.Name, "localhost", node.Ip.ToString(), "127.0.0.1", "::1"];

    private static CertificateSpec Authority(string name, string commonName, Holders certificateTo, Holders keyTo) => new()
    {
        Name = name, Kind = CertificateKind.Authority, CommonName = (_, _) => commonName,
        Organizations = (site, _) => [site.Name],
        // kubeadm sets DNSNames = [CN] on its CAs.
        Sans = (_, _) => [commonName],
        CertificateHolders = certificateTo, KeyHolders = keyTo,
        NodePath = NodePaths.Pki(name + ".crt"), KeyNodePath = NodePaths.Pki(name + ".key"),
    };

    private static CertificateSpec Leaf(string name, string issuer, ExtendedUsage usages, Per per, Func<SiteSpec, NodeSpec?, string> commonName,
        Holders holders, Func<SiteSpec, NodeSpec?, IReadOnlyList<string>>? organizations = null,
        Func<SiteSpec, NodeSpec?, IReadOnlyList<string>>? sans = null) => new()
    {
        Name = name, Kind = CertificateKind.Leaf, Issuer = issuer, Usages = usages, Per = per, CommonName = commonName,
        Organizations = organizations ?? ((_, _) => []), Sans = sans ?? ((_, _) => []),
        CertificateHolders = holders, KeyHolders = holders,
        NodePath = NodePaths.Pki(name + ".crt"), KeyNodePath = NodePaths.Pki(name + ".key"),
    };

    private static CertificateSpec Credential(string name, string identity, Func<SiteSpec, NodeSpec?, string> commonName, Holders holders,
        Per per = Per.Cluster, Func<SiteSpec, NodeSpec?, IReadOnlyList<string>>? organizations = null, string? kubeconfig = null) => new()
    {
        Name = name, Kind = CertificateKind.Leaf, Issuer = Ca, Usages = ExtendedUsage.ClientAuth, Per = per, CommonName = commonName,
        Organizations = organizations ?? ((_, _) => []), Delivery = Delivery.Kubeconfig, Identity = identity,
        CertificateHolders = holders, KeyHolders = holders,
        NodePath = NodePaths.Kubeconfig(kubeconfig ?? name), KeyNodePath = NodePaths.Kubeconfig(kubeconfig ?? name),
    };
}

/// <summary>One row expanded for a site (and a node, for per-node rows): the concrete subject and SANs.</summary>
public sealed record CertificateInstance(
    CertificateSpec Spec, NodeSpec? Owner, string Id, string CommonName, ImmutableArray<string> Organizations, ImmutableArray<string> Sans)
{
    public static CertificateInstance Create(SiteSpec site, CertificateSpec spec, NodeSpec? owner)
    {
        var id = owner is null ? spec.Name : $"nodes/{owner.Name}/{spec.Name}";
        var sans = spec.Sans(site, owner).Select(Canonical).Distinct(StringComparer.Ordinal).ToImmutableArray();
        return new CertificateInstance(spec, owner, id, spec.CommonName(site, owner), [.. spec.Organizations(site, owner)], sans);
    }

    /// <summary>State file of the certificate (or public key) relative to state/&lt;site&gt;/.</summary>
    public string CertificateFile => Spec.Kind == CertificateKind.KeyPair ? Id + ".pub" : Id + ".crt";

    public string KeyFile => Id + ".key";

    public bool HoldsCertificate(SiteSpec site, NodeSpec node) => CertificateTable.Holds(Spec.CertificateHolders, site, node, Owner);

    public bool HoldsKey(SiteSpec site, NodeSpec node) => CertificateTable.Holds(Spec.KeyHolders, site, node, Owner);

    /// <summary>"DNS:name" or "IP:address", the form openssl prints and the fingerprint uses.</summary>
    public static string Canonical(string san) =>
        IPAddress.TryParse(san, out var ip) ? "IP:" + ip : "DNS:" + san;

    public override string ToString() => Id;
}
