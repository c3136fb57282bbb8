using System.Collections.Immutable;
using System.Net;
using Bundler.Configuration;
using Bundler.Layout;
using static Bundler.Layout.ComponentTable;

namespace Bundler.Pki;

public enum CertificateKind { Authority, KeyPair, Leaf }

[Flags]
public enum ExtendedUsage { None = 0, ServerAuth = 1, ClientAuth = 2 }

/// <summary>How a node receives the material: as files under /etc/kubernetes/pki, or embedded in a kubeconfig by render.</summary>
public enum Delivery { Files, Kubeconfig }

/// <summary>
/// Which nodes may hold a certificate or a key (least privilege, issue 4): the nodes that run a component using it
/// (the roles table decides which those are), only the node it was issued for, or nobody.
/// </summary>
public sealed class Holders
{
    private readonly Func<SiteSpec, NodeSpec, NodeSpec?, bool> _rule;
    private readonly string _description;

    private Holders(string description, Func<SiteSpec, NodeSpec, NodeSpec?, bool> rule)
    {
        _description = description;
        _rule = rule;
    }

    public static readonly Holders Nobody = new("nobody", (_, _, _) => false);

    /// <summary>Only the node the certificate was issued for.</summary>
    public static readonly Holders Owner = new("its owner", (_, node, owner) => owner is not null && owner.Name == node.Name);

    public static Holders NodesRunning(params ComponentSpec[] users) =>
        new($"nodes running {string.Join(" or ", users.Select(u => u.Name))}", (_, node, _) => users.Any(u => u.RunsOn(node)));

    /// <summary>The first node in site order that runs <paramref name="component"/>.</summary>
    public static Holders FirstNodeRunning(ComponentSpec component) =>
        new($"the first node running {component.Name}", (site, node, _) => component.RunsOn(node) && site.Nodes.First(component.RunsOn).Name == node.Name);

    /// <summary>These holders, and only while the site says <paramref name="setting"/>.</summary>
    public Holders OnlyWhen(string setting, Func<SiteSpec, bool> enabled) =>
        new($"{_description} when {setting}", (site, node, owner) => enabled(site) && _rule(site, node, owner));

    /// <summary>Whether <paramref name="node"/> may hold it (<paramref name="owner"/>: the node it was issued for, if any).</summary>
    public bool Holds(SiteSpec site, NodeSpec node, NodeSpec? owner)
    {
        ArgumentNullException.ThrowIfNull(site);
        ArgumentNullException.ThrowIfNull(node);
        return _rule(site, node, owner);
    }

    public override string ToString() => _description;
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
    /// <summary>One per node running this component (its owner); null: one for the cluster.</summary>
    public ComponentSpec? Per { get; init; }
    public Func<SiteSpec, NodeSpec?, string> CommonName { get; init; } = (_, _) => "";
    public Func<SiteSpec, NodeSpec?, IReadOnlyList<string>> Organizations { get; init; } = (_, _) => [];
    /// <summary>DNS names and IP addresses, in order; IPs are recognised by parsing.</summary>
    public Func<SiteSpec, NodeSpec?, IReadOnlyList<string>> Sans { get; init; } = (_, _) => [];
    public Delivery Delivery { get; init; } = Delivery.Files;
    public Holders CertificateHolders { get; init; } = Holders.Nobody;
    public Holders KeyHolders { get; init; } = Holders.Nobody;
    /// <summary>The kubeconfig user this credential is for ("admin", "kubelet", ...); null for file rows.</summary>
    public string? Identity { get; init; }
    /// <summary>Where it lands on a node: the .crt path for files, the kubeconfig path for credentials.</summary>
    public required string NodePath { get; init; }
    public string? KeyNodePath { get; init; }
    /// <summary>Units a changed certificate (or public key) file restarts on the nodes that hold it.</summary>
    public ImmutableArray<ComponentSpec> Restarts { get; init; } = [];
    /// <summary>Units a changed key file restarts; the same as <see cref="Restarts"/> unless set.</summary>
    public ImmutableArray<ComponentSpec> KeyRestarts { get => _keyRestarts.IsDefault ? Restarts : _keyRestarts; init => _keyRestarts = value; }
    private readonly ImmutableArray<ComponentSpec> _keyRestarts;

    public bool IsAuthority => Kind == CertificateKind.Authority;

    /// <summary>Whether <paramref name="node"/> holds this row's key: for a per-node row, its own instance.</summary>
    public bool KeyGoesTo(SiteSpec site, NodeSpec node) =>
        Per is null ? KeyHolders.Holds(site, node, null) : Per.RunsOn(node) && KeyHolders.Holds(site, node, node);
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
        // etcd-only nodes have no use for the cluster CA. The CA is trusted by every component: a new one restarts them all.
        Authority(Ca, "kubernetes-ca", certificateTo: Holders.NodesRunning(KubeApiserver, Kubelet),
            keyTo: Holders.NodesRunning(KubeControllerManager).OnlyWhen("pki.caKeyOnMasters", site => site.Pki.CaKeyOnMasters),
            restarts: [Etcd, KubeApiserver, KubeControllerManager, KubeScheduler, KubeNginx, Kubelet, KubeProxy]),
        Authority(EtcdCa, "etcd-ca", certificateTo: Holders.NodesRunning(Etcd, KubeApiserver), keyTo: Holders.Nobody, restarts: [Etcd, KubeApiserver]),
        Authority(FrontProxyCa, "kubernetes-front-proxy-ca", certificateTo: Holders.NodesRunning(KubeApiserver), keyTo: Holders.Nobody, restarts: [KubeApiserver]),
        new()
        {
            // Its own key pair, never the CA key (KTHW#230); the same on every master (kubernetes/kops#9534).
            Name = ServiceAccount, Kind = CertificateKind.KeyPair,
            CertificateHolders = Holders.NodesRunning(KubeApiserver), KeyHolders = Holders.NodesRunning(KubeApiserver, KubeControllerManager),
            NodePath = NodePaths.Pki("sa.pub"), KeyNodePath = NodePaths.Pki("sa.key"),
            Restarts = [KubeApiserver], KeyRestarts = [KubeApiserver, KubeControllerManager],
        },

        // Master files.
        Leaf("apiserver", Ca, ExtendedUsage.ServerAuth, per: KubeApiserver, (_, _) => "kube-apiserver", holders: Holders.Owner, restarts: [KubeApiserver],
            sans: (site, node) =>
            [
                "kubernetes", "kubernetes.default", "kubernetes.default.svc", $"kubernetes.default.svc.{site.Network.ClusterDomain}",
                node!.Name, node.Ip.ToString(), site.Network.KubernetesServiceIp.ToString(),
                // kubelet and kube-proxy reach the apiservers through kube-nginx on 127.0.0.1 (pki-spec.md §1b row 1).
                "127.0.0.1", .. site.ApiServer.ExtraSans,
            ]),
        // No O: system:masters would bypass RBAC; a ClusterRoleBinding to system:kubelet-api-admin grants what it needs.
        Leaf("apiserver-kubelet-client", Ca, ExtendedUsage.ClientAuth, per: null, (_, _) => "kube-apiserver-kubelet-client",
            Holders.NodesRunning(KubeApiserver), restarts: [KubeApiserver]),
        Leaf("apiserver-etcd-client", EtcdCa, ExtendedUsage.ClientAuth, per: null, (_, _) => "kube-apiserver-etcd-client",
            Holders.NodesRunning(KubeApiserver), restarts: [KubeApiserver]),
        Leaf("front-proxy-client", FrontProxyCa, ExtendedUsage.ClientAuth, per: null, (_, _) => "front-proxy-client",
            Holders.NodesRunning(KubeApiserver), restarts: [KubeApiserver]),

        // etcd files. Server certs also act as clients (etcd-io/etcd#9785); the peer cert must hold the IP the
        // member dials from, or etcd rejects it (etcd op-guide/security.md).
        Leaf("etcd/server", EtcdCa, ExtendedUsage.ServerAuth | ExtendedUsage.ClientAuth, per: Etcd, (_, node) => node!.Name,
            Holders.Owner, restarts: [Etcd, KubeApiserver], sans: EtcdSans),
        Leaf("etcd/peer", EtcdCa, ExtendedUsage.ServerAuth | ExtendedUsage.ClientAuth, per: Etcd, (_, node) => node!.Name,
            Holders.Owner, restarts: [Etcd, KubeApiserver], sans: EtcdSans),
        // The installer's health check (etcdctl endpoint health) runs on each member with this; no unit reads it.
        Leaf("etcd/healthcheck-client", EtcdCa, ExtendedUsage.ClientAuth, per: null, (_, _) => "kube-etcd-healthcheck-client",
            Holders.NodesRunning(Etcd), restarts: []),

        // Worker files: a pre-issued serving cert, so no CSR waits for a human approval.
        Leaf("kubelet", Ca, ExtendedUsage.ServerAuth, per: Kubelet, (_, node) => $"system:node:{node!.Name}", Holders.Owner, restarts: [Kubelet],
            organizations: (_, _) => ["system:nodes"], sans: (_, node) => [node!.Name, node.Ip.ToString()]),

        // Kubeconfig credentials (render embeds them; the template table says what their kubeconfigs restart).
        KubeconfigRow("admin", "admin", (_, _) => "kubernetes-admin", Holders.NodesRunning(KubeApiserver),
            organizations: (_, _) => ["kubeadm:cluster-admins"]),
        // Its installer applies the bootstrap RBAC once, then deletes the credential.
        KubeconfigRow("super-admin", "super-admin", (_, _) => "kubernetes-super-admin", Holders.FirstNodeRunning(KubeApiserver),
            organizations: (_, _) => ["system:masters"]),
        KubeconfigRow("controller-manager", "controller-manager", (_, _) => "system:kube-controller-manager", Holders.NodesRunning(KubeControllerManager)),
        KubeconfigRow("scheduler", "scheduler", (_, _) => "system:kube-scheduler", Holders.NodesRunning(KubeScheduler)),
        KubeconfigRow("kube-proxy", "kube-proxy", (_, _) => "system:kube-proxy", Holders.NodesRunning(KubeProxy)),
        KubeconfigRow("kubelet-client", "kubelet", (_, node) => $"system:node:{node!.Name}", Holders.Owner, per: Kubelet,
            organizations: (_, _) => ["system:nodes"], kubeconfig: "kubelet"),
    ];

    public static CertificateSpec Row(string name) =>
        Rows.FirstOrDefault(r => r.Name == name) ?? throw new ArgumentException($"no certificate row named '{name}'", nameof(name));

    /// <summary>The kubeconfig credential row of a client identity ("admin", "kubelet", ...).</summary>
    public static CertificateSpec CredentialRow(string identity) =>
        Rows.FirstOrDefault(r => r.Identity == identity)
        ?? throw new ArgumentException($"unknown client identity '{identity}'; known: " +
                                       string.Join(", ", Rows.Where(r => r.Identity is not null).Select(r => r.Identity)), nameof(identity));

    /// <summary>Every certificate and key pair of this site, in table order (issuers before their leaves).</summary>
    public static IReadOnlyList<CertificateInstance> Expand(SiteSpec site)
    {
        ArgumentNullException.ThrowIfNull(site);
        var instances = new List<CertificateInstance>();
        foreach (var row in Rows)
        {
            var owners = row.Per is { } per ? site.Nodes.Where(per.RunsOn).Select(n => (NodeSpec?)n) : [null];
            foreach (var node in owners)
                instances.Add(CertificateInstance.Create(site, row, node));
        }
        return instances;
    }

    private static IReadOnlyList<string> EtcdSans(SiteSpec site, NodeSpec? node) => [node!.Name, "localhost", node.Ip.ToString(), "127.0.0.1", "::1"];

    private static CertificateSpec Authority(string name, string commonName, Holders certificateTo, Holders keyTo, ImmutableArray<ComponentSpec> restarts) => new()
    {
        Restarts = restarts,
        Name = name, Kind = CertificateKind.Authority, CommonName = (_, _) => commonName,
        Organizations = (site, _) => [site.Name],
        // kubeadm sets DNSNames = [CN] on its CAs.
        Sans = (_, _) => [commonName],
        CertificateHolders = certificateTo, KeyHolders = keyTo,
        NodePath = NodePaths.Pki(name + ".crt"), KeyNodePath = NodePaths.Pki(name + ".key"),
    };

    private static CertificateSpec Leaf(string name, string issuer, ExtendedUsage usages, ComponentSpec? per, Func<SiteSpec, NodeSpec?, string> commonName,
        Holders holders, ImmutableArray<ComponentSpec> restarts, Func<SiteSpec, NodeSpec?, IReadOnlyList<string>>? organizations = null,
        Func<SiteSpec, NodeSpec?, IReadOnlyList<string>>? sans = null) => new()
    {
        Restarts = restarts,
        Name = name, Kind = CertificateKind.Leaf, Issuer = issuer, Usages = usages, Per = per, CommonName = commonName,
        Organizations = organizations ?? ((_, _) => []), Sans = sans ?? ((_, _) => []),
        CertificateHolders = holders, KeyHolders = holders,
        NodePath = NodePaths.Pki(name + ".crt"), KeyNodePath = NodePaths.Pki(name + ".key"),
    };

    private static CertificateSpec KubeconfigRow(string name, string identity, Func<SiteSpec, NodeSpec?, string> commonName, Holders holders,
        ComponentSpec? per = null, Func<SiteSpec, NodeSpec?, IReadOnlyList<string>>? organizations = null, string? kubeconfig = null) => new()
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

    public bool HoldsCertificate(SiteSpec site, NodeSpec node) => Spec.CertificateHolders.Holds(site, node, Owner);

    public bool HoldsKey(SiteSpec site, NodeSpec node) => Spec.KeyHolders.Holds(site, node, Owner);

    /// <summary>"DNS:name" or "IP:address", the form openssl prints and the fingerprint uses.</summary>
    public static string Canonical(string san) =>
        IPAddress.TryParse(san, out var ip) ? "IP:" + ip : "DNS:" + san;

    public override string ToString() => Id;
}
