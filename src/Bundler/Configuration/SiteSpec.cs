using System.Collections.Immutable;
using System.Net;

namespace Bundler.Configuration;

public enum Arch { Amd64, Arm64 }

[Flags]
public enum Roles
{
    None = 0,
    Etcd = 1,
    Master = 2,
    Worker = 4,
}

public enum ProxyMode { Iptables, Nftables, Ipvs }

public enum KeyAlgorithm { Rsa2048, Rsa3072, Rsa4096, EcdsaP256 }

/// <summary>The spelling of enum values in site and lock files.</summary>
public static class Names
{
    public static string Of(Arch arch) => arch == Arch.Amd64 ? "amd64" : "arm64";

    public static string Of(ProxyMode mode) => mode.ToString().ToLowerInvariant();

    public static string Of(KeyAlgorithm algorithm) => algorithm switch
    {
        KeyAlgorithm.Rsa2048 => "rsa-2048",
        KeyAlgorithm.Rsa3072 => "rsa-3072",
        KeyAlgorithm.Rsa4096 => "rsa-4096",
        _ => "ecdsa-p256",
    };

    public static string Of(Roles roles) => string.Join(",", RoleList(roles));

    public static IEnumerable<string> RoleList(Roles roles) =>
        new[] { Roles.Etcd, Roles.Master, Roles.Worker }.Where(r => roles.HasFlag(r)).Select(r => r.ToString().ToLowerInvariant());

    public static readonly ImmutableArray<string> Arches = ["amd64", "arm64"];
    public static readonly ImmutableArray<string> RoleNames = ["etcd", "master", "worker"];
    public static readonly ImmutableArray<string> ProxyModes = ["iptables", "nftables", "ipvs"];
    public static readonly ImmutableArray<string> KeyAlgorithms = ["rsa-2048", "rsa-3072", "rsa-4096", "ecdsa-p256"];

    public static bool TryParseArch(string? s, out Arch arch)
    {
        arch = s == "arm64" ? Arch.Arm64 : Arch.Amd64;
        return s is "amd64" or "arm64";
    }
}

/// <summary>One host of the cluster. <see cref="Index"/> is its position in the site file (fixes its pod subnet).</summary>
public sealed record NodeSpec(string Name, IPAddress Ip, Roles Roles, Arch Arch, int Index)
{
    public bool Is(Roles role) => (Roles & role) == role;
}

public sealed record NetworkSpec(
    Ipv4Network ServiceCidr,
    Ipv4Network PodCidr,
    int NodePortFirst,
    int NodePortLast,
    string ClusterDomain,
    ProxyMode ProxyMode)
{
    /// <summary>First address of the service range: the <c>kubernetes</c> service (kubeadm GetAPIServerVirtualIP).</summary>
    public IPAddress KubernetesServiceIp => ServiceCidr.AddressAt(1);

    /// <summary>Tenth address of the service range: cluster DNS, as every seed tutorial sets it.</summary>
    public IPAddress ClusterDnsIp => ServiceCidr.AddressAt(10);

    public string NodePortRange => $"{NodePortFirst}-{NodePortLast}";
}

public sealed record ApiServerSpec(int Port, int LocalProxyPort, ImmutableArray<string> ExtraSans);

public sealed record PkiSettings(KeyAlgorithm KeyAlgorithm, int CaValidityDays, int LeafValidityDays, bool CaKeyOnMasters)
{
    /// <summary>A leaf that expires within this many days is re-issued by the next build.</summary>
    public const int RenewalWindowDays = 30;
}

/// <summary>
/// Where an add-on's manifest comes from (SPEC §7): an http(s) <see cref="Url"/> fetched like an artifact, or a
/// <see cref="File"/> beside the site file (absolute here, resolved against the site file's folder), and the sha256 its
/// bytes must have either way.
/// </summary>
public sealed record AddonManifest(string? Url, string? File, string Sha256)
{
    /// <summary>What the site file names: the URL, or the file as written there.</summary>
    public required string Source { get; init; }
}

/// <summary>
/// The etcd backup timer (SPEC §8): how often every etcd member saves a snapshot of its store (a systemd calendar
/// shorthand) and how many of its snapshots it keeps.
/// </summary>
public sealed record EtcdBackupSpec(string Schedule, int Keep)
{
    public static readonly ImmutableArray<string> Schedules = ["hourly", "daily", "weekly"];

    public const int MaxKeep = 1000;

    public static readonly EtcdBackupSpec Default = new("daily", 7);
}

/// <summary>A name from the lock's <c>images:</c> and where the site file names it (for file:line:column errors).</summary>
public sealed record ImageUse(string Name, Location At, string Field);

/// <summary>
/// One add-on the first master applies once its apiserver is healthy, in site order (SPEC §7). A built-in add-on
/// (<see cref="CoreDns"/>) is rendered from bundle-templates/ and has no <see cref="Manifest"/>; any other has a pinned
/// manifest and names the images it needs.
/// </summary>
public sealed record AddonSpec(string Name, AddonManifest? Manifest, ImmutableArray<ImageUse> Images, Location At)
{
    public const string CoreDns = "coredns";

    /// <summary>The built-in add-ons, by name: each needs the lock image of the same name.</summary>
    public static readonly ImmutableArray<string> BuiltIn = [CoreDns];

    public bool IsBuiltIn => Manifest is null;

    /// <summary>What a site without <c>addons:</c> gets.</summary>
    public static readonly ImmutableArray<AddonSpec> Default = [new(CoreDns, null, [], Location.None)];
}

/// <summary>A validated site file. Build it with <see cref="SiteLoader"/>; every value here has passed validation.</summary>
public sealed record SiteSpec(
    string Name,
    string Kubernetes,
    Arch Arch,
    NetworkSpec Network,
    ApiServerSpec ApiServer,
    PkiSettings Pki,
    ImmutableArray<NodeSpec> Nodes,
    string SourcePath,
    string SourceSha256)
{
    /// <summary>Applied by the first master in this order; <see cref="AddonSpec.Default"/> (CoreDNS) unless the site lists its own.</summary>
    public ImmutableArray<AddonSpec> Addons { get; init; } = AddonSpec.Default;

    /// <summary>The site's own images (<c>images:</c>), shipped to every node that runs a kubelet.</summary>
    public ImmutableArray<ImageUse> Images { get; init; } = [];

    /// <summary><c>etcdBackup:</c>, <see cref="EtcdBackupSpec.Default"/> unless the site says otherwise.</summary>
    public EtcdBackupSpec EtcdBackup { get; init; } = EtcdBackupSpec.Default;

    public bool HasAddon(string name) => Addons.Any(a => a.Name == name);

    public IEnumerable<NodeSpec> Masters => Nodes.Where(n => n.Is(Roles.Master));
    public IEnumerable<NodeSpec> EtcdMembers => Nodes.Where(n => n.Is(Roles.Etcd));
    public IEnumerable<NodeSpec> Workers => Nodes.Where(n => n.Is(Roles.Worker));
    public IEnumerable<Arch> Arches => Nodes.Select(n => n.Arch).Distinct().Order();

    /// <summary>The first master in file order: its installer applies the bootstrap manifests once.</summary>
    public NodeSpec FirstMaster => Masters.First();

    /// <summary>This node's /24 of the pod CIDR, by its position in the site file.</summary>
    public Ipv4Network PodSubnetOf(NodeSpec node) => Network.PodCidr.Subnet(24, node.Index);

    public NodeSpec Node(string name) =>
        Nodes.FirstOrDefault(n => n.Name == name) ?? throw new UserInputException($"{SourcePath}: no node named '{name}'");
}
