using System.Collections.Immutable;
using System.Net;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Bundler.Configuration;

/// <summary>
/// Loads and validates a site file (SPEC §1). Every problem is collected; the result is either a
/// <see cref="SiteSpec"/> that passed every rule, or a <see cref="UserInputException"/> listing all errors.
/// Warnings are returned with the site so the caller can print them.
/// </summary>
public static partial class SiteLoader
{
    // \z, not $: .NET's $ also matches before a final newline, which would let "lab\n" through.
    [GeneratedRegex(@"\A[a-z0-9]([-a-z0-9]*[a-z0-9])?\z")]
    private static partial Regex DnsLabel();

    [GeneratedRegex(@"\A(?=.{1,253}\z)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\z")]
    private static partial Regex DnsName();

    [GeneratedRegex(@"\A(?=.{1,253}\z)(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\z")]
    private static partial Regex SanName();

    [GeneratedRegex(@"\A[0-9]+\.[0-9]+\.[0-9]+\z")]
    private static partial Regex Version();

    private static readonly string[] TopKeys = ["name", "kubernetes", "arch", "network", "apiServer", "pki", "nodes", "addons", "images", "etcdBackup"];
    private static readonly string[] EtcdBackupKeys = ["schedule", "keep"];
    private static readonly string[] AddonKeys = ["name", "manifest", "images"];
    private static readonly string[] ManifestKeys = ["url", "file", "sha256"];
    private static readonly string[] NetworkKeys = ["serviceCidr", "podCidr", "nodePortRange", "clusterDomain", "proxyMode"];
    private static readonly string[] ApiServerKeys = ["port", "localProxyPort", "extraSans"];
    private static readonly string[] PkiKeys = ["keyAlgorithm", "caValidityDays", "leafValidityDays", "caKeyOnMasters"];
    private static readonly string[] NodeKeys = ["name", "ip", "roles", "arch"];

    public sealed record Result(SiteSpec Site, IReadOnlyList<Diagnostic> Warnings);

    public static Result Load(string path, PinCatalog pins)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(pins);
        if (!File.Exists(path))
            throw new UserInputException($"{path}: site file not found");
        var bytes = File.ReadAllBytes(path);
        return Parse(System.Text.Encoding.UTF8.GetString(bytes), path, pins, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    public static Result Parse(string yaml, string path, PinCatalog pins, string? sha256 = null)
    {
        var bag = new DiagnosticBag(path);
        var root = ReadRoot(yaml, bag);
        if (root is null)
        {
            bag.ThrowIfErrors();
            throw new UserInputException($"{path}: the site file is empty; run 'kbundle init' for an example");
        }

        var f = new YamlFields(root, bag, "", TopKeys);
        var spots = new Dictionary<string, Location>();

        var name = f.Scalar("name", required: true) ?? "";
        if (name.Length > 0 && (!DnsLabel().IsMatch(name) || name.Length > 63))
            bag.Error(f.AtValue("name"), "name", $"'{name}' is not a valid site name",
                "allowed: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters");

        var kubernetes = f.Scalar("kubernetes", required: true) ?? "";
        if (kubernetes.Length > 0)
        {
            if (!Version().IsMatch(kubernetes))
                bag.Error(f.AtValue("kubernetes"), "kubernetes", $"'{kubernetes}' is not a version", "allowed: X.Y.Z, e.g. 1.36.0");
            else if (!pins.Has(kubernetes))
                bag.Error(f.AtValue("kubernetes"), "kubernetes", $"{kubernetes} is not pinned in {pins.Source}",
                    $"allowed: {string.Join(", ", pins.Versions.DefaultIfEmpty("(none)"))}");
        }

        var arch = ParseArch(f, "arch", Arch.Amd64, bag);
        var network = ReadNetwork(f.Mapping("network"), bag, spots);
        var apiServer = ReadApiServer(f.Mapping("apiServer"), bag, spots);
        var pki = ReadPki(f.Mapping("pki"), bag);
        var nodes = ReadNodes(f, arch, bag, spots);

        var addons = ReadAddons(f, path, bag);
        var images = ReadImageNames(f.Sequence("images"), "images", bag);
        var etcdBackup = ReadEtcdBackup(f, bag);

        CheckRelations(network, apiServer, nodes, bag, spots, f.AtValue("nodes"));

        bag.ThrowIfErrors();
        var site = new SiteSpec(name, kubernetes, arch, network!, apiServer, pki, nodes.Select(n => n.Spec).ToImmutableArray(), path,
            sha256 ?? Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(yaml))))
        {
            Addons = addons,
            Images = images,
            EtcdBackup = etcdBackup,
        };
        return new Result(site, bag.Warnings.ToList());
    }

    private static YamlMappingNode? ReadRoot(string yaml, DiagnosticBag bag)
    {
        YamlStream stream;
        try
        {
            stream = SafeYaml.Load(yaml);
        }
        catch (YamlException e)
        {
            var inner = e.InnerException?.Message;
            bag.Error(new Location((int)e.Start.Line, (int)e.Start.Column), "(syntax)",
                inner is null ? e.Message : $"{e.Message} {inner}", "see 'kbundle init' for a valid example");
            return null;
        }
        if (stream.Documents.Count == 0)
            return null;
        if (stream.Documents.Count > 1)
            bag.Error(YamlFields.At(stream.Documents[1].RootNode), "(document)", "more than one YAML document", "allowed: exactly one site per file");
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            bag.Error(YamlFields.At(stream.Documents[0].RootNode), "(root)", "the site file must be a mapping", "see 'kbundle init' for an example");
            return null;
        }
        return root;
    }

    private static Arch ParseArch(YamlFields f, string key, Arch fallback, DiagnosticBag bag)
    {
        var text = f.Scalar(key);
        if (text is null)
            return fallback;
        if (Names.TryParseArch(text, out var arch))
            return arch;
        bag.Error(f.AtValue(key), f.Field(key), $"unknown architecture '{text}'", $"allowed: {string.Join(", ", Names.Arches)}");
        return fallback;
    }

    private static NetworkSpec? ReadNetwork(YamlMappingNode? node, DiagnosticBag bag, Dictionary<string, Location> spots)
    {
        var f = node is null ? null : new YamlFields(node, bag, "network", NetworkKeys);
        Ipv4Network Cidr(string key, string fallback)
        {
            var text = f?.Scalar(key) ?? fallback;
            spots[$"network.{key}"] = f?.AtValue(key) ?? Location.None;
            if (Ipv4Network.TryParse(text, out var n, out var error))
                return n;
            bag.Error(spots[$"network.{key}"], $"network.{key}", error!, "allowed: an IPv4 network such as 10.254.0.0/16");
            return default;
        }

        var service = Cidr("serviceCidr", "10.254.0.0/16");
        var pod = Cidr("podCidr", "172.30.0.0/16");
        var ok = !bag.Items.Any(d => d.Field is "network.serviceCidr" or "network.podCidr");

        var range = f?.Scalar("nodePortRange") ?? "30000-32767";
        spots["network.nodePortRange"] = f?.AtValue("nodePortRange") ?? Location.None;
        var (first, last) = (30000, 32767);
        var parts = range.Split('-');
        if (parts.Length != 2 || !int.TryParse(parts[0], out first) || !int.TryParse(parts[1], out last) ||
            first < 1 || last > 65535 || first >= last)
        {
            bag.Error(spots["network.nodePortRange"], "network.nodePortRange", $"'{range}' is not a port range",
                "allowed: FIRST-LAST with 1 <= FIRST < LAST <= 65535, e.g. 30000-32767");
            (first, last) = (30000, 32767);
        }

        var domain = f?.Scalar("clusterDomain") ?? "cluster.local";
        if (!DnsName().IsMatch(domain))
            bag.Error(f!.AtValue("clusterDomain"), "network.clusterDomain", $"'{domain}' is not a DNS domain",
                "allowed: lower-case DNS labels separated by dots, no trailing dot, e.g. cluster.local");

        var modeText = f?.Scalar("proxyMode") ?? "iptables";
        var mode = ProxyMode.Iptables;
        switch (modeText)
        {
            case "iptables": break;
            case "nftables": mode = ProxyMode.Nftables; break;
            case "ipvs":
                mode = ProxyMode.Ipvs;
                bag.Warning(f!.AtValue("proxyMode"), "network.proxyMode", "ipvs is deprecated upstream since Kubernetes 1.35",
                    "prefer nftables or iptables");
                break;
            default:
                bag.Error(f!.AtValue("proxyMode"), "network.proxyMode", $"unknown proxy mode '{modeText}'",
                    $"allowed: {string.Join(", ", Names.ProxyModes)}");
                break;
        }
        return ok ? new NetworkSpec(service, pod, first, last, domain, mode) : null;
    }

    private static ApiServerSpec ReadApiServer(YamlMappingNode? node, DiagnosticBag bag, Dictionary<string, Location> spots)
    {
        var f = node is null ? null : new YamlFields(node, bag, "apiServer", ApiServerKeys);
        var port = f?.Int("port", 6443, 1, 65535) ?? 6443;
        var local = f?.Int("localProxyPort", 8443, 1, 65535) ?? 8443;
        spots["apiServer.port"] = f?.AtValue("port") ?? Location.None;
        spots["apiServer.localProxyPort"] = f?.AtValue("localProxyPort") ?? Location.None;

        var sans = ImmutableArray.CreateBuilder<string>();
        if (f?.Sequence("extraSans") is { } list)
        {
            for (var i = 0; i < list.Children.Count; i++)
            {
                var item = list.Children[i];
                var text = (item as YamlScalarNode)?.Value ?? "";
                var isIp = Ipv4.TryParse(text, out _) || (text.Contains(':') && !text.Contains('%') && IPAddress.TryParse(text, out _));
                if (YamlFields.ControlCharacter(text) is { } bad)
                    bag.Error(YamlFields.At(item), $"apiServer.extraSans[{i}]", $"contains {bad}", "allowed: one DNS name or IP address per item");
                else if (text.Contains('%'))
                    bag.Error(YamlFields.At(item), $"apiServer.extraSans[{i}]", $"'{text}' has a zone (%...), which a certificate cannot carry",
                        "allowed: an IP address without a zone, or a DNS name");
                else if (!isIp && !SanName().IsMatch(text))
                    bag.Error(YamlFields.At(item), $"apiServer.extraSans[{i}]", $"'{text}' is neither a DNS name nor an IP address",
                        "allowed: a lower-case DNS name (e.g. k8s.example.com) or an IP address");
                else if (sans.Contains(text))
                    bag.Warning(YamlFields.At(item), $"apiServer.extraSans[{i}]", $"'{text}' is listed twice");
                else
                    sans.Add(text);
            }
        }
        return new ApiServerSpec(port, local, sans.ToImmutable());
    }

    /// <summary><c>etcdBackup: { schedule: daily, keep: 7 }</c> (SPEC §8): both optional, the defaults shown.</summary>
    private static EtcdBackupSpec ReadEtcdBackup(YamlFields top, DiagnosticBag bag)
    {
        if (top.Get("etcdBackup") is null)
            return EtcdBackupSpec.Default;
        var map = top.Mapping("etcdBackup");
        if (map is null)
            return EtcdBackupSpec.Default;
        var f = new YamlFields(map, bag, "etcdBackup", EtcdBackupKeys);
        var schedule = f.Scalar("schedule") ?? EtcdBackupSpec.Default.Schedule;
        if (!EtcdBackupSpec.Schedules.Contains(schedule))
        {
            var hint = Suggest.Closest(schedule, EtcdBackupSpec.Schedules);
            bag.Error(f.AtValue("schedule"), "etcdBackup.schedule", $"unknown schedule '{schedule}'",
                $"allowed: {string.Join(", ", EtcdBackupSpec.Schedules)}{(hint is null ? "" : $" (did you mean '{hint}'?)")}");
        }
        var keep = f.Int("keep", EtcdBackupSpec.Default.Keep, 1, EtcdBackupSpec.MaxKeep);
        return new EtcdBackupSpec(schedule, keep);
    }

    private static PkiSettings ReadPki(YamlMappingNode? node, DiagnosticBag bag)
    {
        var f = node is null ? null : new YamlFields(node, bag, "pki", PkiKeys);
        var algorithmText = f?.Scalar("keyAlgorithm") ?? "rsa-2048";
        var index = Names.KeyAlgorithms.IndexOf(algorithmText);
        if (index < 0)
        {
            bag.Error(f!.AtValue("keyAlgorithm"), "pki.keyAlgorithm", $"unknown key algorithm '{algorithmText}'",
                $"allowed: {string.Join(", ", Names.KeyAlgorithms)}");
            index = 0;
        }
        var ca = f?.Int("caValidityDays", 3650, 1, 36500) ?? 3650;
        var leaf = f?.Int("leafValidityDays", 365, 1, 36500) ?? 365;
        if (leaf <= PkiSettings.RenewalWindowDays)
            bag.Error(f!.AtValue("leafValidityDays"), "pki.leafValidityDays",
                $"{leaf} days lies inside the {PkiSettings.RenewalWindowDays}-day renewal window: every build would re-issue every leaf",
                $"allowed: more than {PkiSettings.RenewalWindowDays} days (365 is the default)");
        else if (leaf >= ca)
            bag.Error(f!.AtValue("leafValidityDays"), "pki.leafValidityDays", $"{leaf} days is not shorter than pki.caValidityDays ({ca})",
                "allowed: fewer days than the CA's validity, so every leaf expires before its issuer");
        var caKey = f?.Bool("caKeyOnMasters", false) ?? false;
        return new PkiSettings((KeyAlgorithm)index, ca, leaf, caKey);
    }

    /// <summary>
    /// <c>addons:</c> (SPEC §7): applied in this order by the first master. Absent, the site gets CoreDNS; a list is
    /// exactly what is applied (<c>addons: []</c> applies none). A built-in add-on has no manifest; any other has one,
    /// pinned by sha256, and names the images it needs.
    /// </summary>
    private static ImmutableArray<AddonSpec> ReadAddons(YamlFields top, string sitePath, DiagnosticBag bag)
    {
        if (top.Get("addons") is null)
            return AddonSpec.Default;
        var list = top.Sequence("addons");
        if (list is null)
            return [];
        var result = ImmutableArray.CreateBuilder<AddonSpec>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < list.Children.Count; i++)
        {
            var field = $"addons[{i}]";
            if (list.Children[i] is not YamlMappingNode map)
            {
                bag.Error(YamlFields.At(list.Children[i]), field, "must be a mapping", "allowed: { name: coredns } or { name: NAME, manifest: { url: …, sha256: … }, images: [NAME] }");
                continue;
            }
            var errors = bag.Errors.Count();
            var f = new YamlFields(map, bag, field, AddonKeys);
            var name = f.Scalar("name", required: true) ?? "";
            if (name.Length > 0 && (!DnsLabel().IsMatch(name) || name.Length > 63))
                bag.Error(f.AtValue("name"), $"{field}.name", $"'{name}' is not a valid add-on name",
                    "allowed: lower-case letters, digits and '-', starting and ending with a letter or digit (it becomes a file name)");
            else if (name.Length > 0 && seen.TryGetValue(name, out var other))
                bag.Error(f.AtValue("name"), $"{field}.name", $"'{name}' is already listed as addons[{other}]", "allowed: each add-on once");
            else if (name.Length > 0)
                seen[name] = i;

            var builtIn = AddonSpec.BuiltIn.Contains(name);
            AddonManifest? manifest = null;
            if (f.Get("manifest") is not null)
            {
                if (builtIn)
                    bag.Error(f.AtValue("manifest"), $"{field}.manifest", $"{name} is built in (rendered from bundle-templates/addons/{name}.yaml.sbn)",
                        "remove manifest: and images:, or give the add-on another name");
                else
                    manifest = ReadManifest(f, field, sitePath, bag);
            }
            else if (!builtIn && name.Length > 0)
            {
                bag.Error(f.Location, $"{field}.manifest", $"add-on '{name}' has no manifest",
                    $"allowed: manifest: {{ url: https://…, sha256: … }} or {{ file: addons/{name}.yaml, sha256: … }}; built in: {string.Join(", ", AddonSpec.BuiltIn)}");
            }
            var images = ReadImageNames(f.Sequence("images"), $"{field}.images", bag);
            if (builtIn && images.Length > 0)
                bag.Error(f.AtValue("images"), $"{field}.images", $"{name} is built in and names its own image ('{name}' from the lock)", "remove images:");
            if (bag.Errors.Count() == errors)
                result.Add(new AddonSpec(name, manifest, images, f.Location));
        }
        if (!result.Any(a => a.Name == AddonSpec.CoreDns) && bag.Errors.All(d => !d.Field.StartsWith("addons", StringComparison.Ordinal)))
            bag.Warning(top.AtValue("addons"), "addons", "coredns is not listed: the cluster gets no DNS service from this bundle",
                "add '- name: coredns' unless the site brings its own DNS add-on");
        return result.ToImmutable();
    }

    private static AddonManifest? ReadManifest(YamlFields addon, string field, string sitePath, DiagnosticBag bag)
    {
        var map = addon.Mapping("manifest");
        if (map is null)
        {
            bag.Error(addon.AtValue("manifest"), $"{field}.manifest", "is empty", "allowed: { url: https://…, sha256: … } or { file: PATH, sha256: … }");
            return null;
        }
        var errors = bag.Errors.Count();
        var f = new YamlFields(map, bag, $"{field}.manifest", ManifestKeys);
        var url = f.Scalar("url");
        var file = f.Scalar("file");
        if (url is not null && file is not null)
            bag.Error(f.AtValue("file"), f.Field("file"), "both url: and file: are given", "allowed: exactly one of them");
        else if (url is null && file is null)
            bag.Error(f.Location, f.Field("url"), "says neither where to fetch the manifest (url:) nor which file it is (file:)",
                "allowed: url: https://…/manifest.yaml, or file: a path relative to the site file");
        if (url is not null && !LockFile.IsHttpUrl(url))
            bag.Error(f.AtValue("url"), f.Field("url"), $"'{url}' is not an http(s) URL",
                "allowed: https://host/path/file with URL characters only (percent-encode anything else)");
        string? resolved = null;
        if (file is not null)
        {
            resolved = Path.GetFullPath(file, Path.GetDirectoryName(Path.GetFullPath(sitePath)) ?? ".");
            if (!File.Exists(resolved))
                bag.Error(f.AtValue("file"), f.Field("file"), $"{resolved} does not exist", "allowed: a file; a relative path is read from the site file's folder");
        }
        var sha = f.Scalar("sha256");
        if (sha is null)
            // Like an artifact without a checksum: refused, never applied unverified.
            bag.Error(f.Location, f.Field("sha256"), "no sha256: the manifest is refused, never applied unverified",
                "allowed: sha256: <64 hex> of the manifest's bytes (sha256sum FILE)");
        else if (sha.Length != 64 || !sha.All(char.IsAsciiHexDigit))
            bag.Error(f.AtValue("sha256"), f.Field("sha256"), $"'{sha}' is not a sha256 checksum", "allowed: 64 hexadecimal digits");
        return bag.Errors.Count() > errors ? null : new AddonManifest(url, resolved, sha!.ToLowerInvariant()) { Source = url ?? file! };
    }

    /// <summary>A list of image names (<c>images:</c>, <c>addons[i].images</c>): each must be pinned in the lock's images: (checked against the lock later).</summary>
    private static ImmutableArray<ImageUse> ReadImageNames(YamlSequenceNode? list, string field, DiagnosticBag bag)
    {
        if (list is null)
            return [];
        var result = ImmutableArray.CreateBuilder<ImageUse>();
        for (var i = 0; i < list.Children.Count; i++)
        {
            var item = list.Children[i];
            var text = (item as YamlScalarNode)?.Value ?? "";
            var at = YamlFields.At(item);
            if (YamlFields.ControlCharacter(text) is { } bad)
                bag.Error(at, $"{field}[{i}]", $"contains {bad}", "allowed: the name of an image in the lock's images:");
            else if (!ImageName().IsMatch(text))
                bag.Error(at, $"{field}[{i}]", $"'{text}' is not an image name", "allowed: a name from the lock's images: (lower-case letters, digits, '-' and '.')");
            else if (result.Any(r => r.Name == text))
                bag.Error(at, $"{field}[{i}]", $"'{text}' is listed twice");
            else
                result.Add(new ImageUse(text, at, $"{field}[{i}]"));
        }
        return result.ToImmutable();
    }

    [GeneratedRegex(@"\A[a-z0-9]([-a-z0-9.]*[a-z0-9])?\z")]
    private static partial Regex ImageName();

    private sealed record ParsedNode(NodeSpec Spec, Location NameAt, Location IpAt, bool IpValid);

    private static List<ParsedNode> ReadNodes(YamlFields top, Arch defaultArch, DiagnosticBag bag, Dictionary<string, Location> spots)
    {
        var result = new List<ParsedNode>();
        var list = top.Sequence("nodes", required: true);
        if (list is null)
            return result;
        if (list.Children.Count == 0)
            bag.Error(YamlFields.At(list), "nodes", "the list is empty", "allowed: at least one node with the master role and one with etcd");

        var names = new Dictionary<string, int>();
        var ips = new Dictionary<string, int>();
        for (var i = 0; i < list.Children.Count; i++)
        {
            var field = $"nodes[{i}]";
            if (list.Children[i] is not YamlMappingNode map)
            {
                bag.Error(YamlFields.At(list.Children[i]), field, "must be a mapping with name, ip and roles");
                continue;
            }
            var f = new YamlFields(map, bag, field, NodeKeys);
            var name = f.Scalar("name", required: true) ?? "";
            if (name.Length > 0 && (!DnsLabel().IsMatch(name) || name.Length > 63))
                bag.Error(f.AtValue("name"), $"{field}.name", $"'{name}' is not a valid node name",
                    "allowed: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters (it becomes the kubelet's node name and a file name)");
            else if (name.Length > 0 && names.TryGetValue(name, out var other))
                bag.Error(f.AtValue("name"), $"{field}.name", $"'{name}' is already used by nodes[{other}]", "allowed: a unique name per node");
            else if (name.Length > 0)
                names[name] = i;

            var ipText = f.Scalar("ip", required: true);
            var ip = IPAddress.None;
            var ipValid = false;
            if (ipText is not null)
            {
                if (!Ipv4.TryParse(ipText, out ip))
                    bag.Error(f.AtValue("ip"), $"{field}.ip", $"'{ipText}' is not an IPv4 address", "allowed: a dotted quad such as 192.168.93.45");
                else if (ipText.StartsWith("127.") || ipText == "0.0.0.0" || ip.GetAddressBytes()[0] >= 224)
                    bag.Error(f.AtValue("ip"), $"{field}.ip", $"{ipText} cannot be a node address",
                        "allowed: a unicast address the other nodes can reach (not loopback, 0.0.0.0, multicast or broadcast)");
                else if (ips.TryGetValue(ipText, out var other))
                    bag.Error(f.AtValue("ip"), $"{field}.ip", $"{ipText} is already used by nodes[{other}]", "allowed: a unique address per node");
                else
                {
                    ips[ipText] = i;
                    ipValid = true;
                }
            }

            var roles = Roles.None;
            if (f.Sequence("roles", required: true) is { } roleList)
            {
                if (roleList.Children.Count == 0)
                    bag.Error(YamlFields.At(roleList), $"{field}.roles", "no role given", $"allowed: one or more of {string.Join(", ", Names.RoleNames)}");
                foreach (var item in roleList.Children)
                {
                    var text = (item as YamlScalarNode)?.Value ?? "";
                    var role = text switch { "etcd" => Roles.Etcd, "master" => Roles.Master, "worker" => Roles.Worker, _ => Roles.None };
                    if (role == Roles.None)
                    {
                        var hint = Suggest.Closest(text, Names.RoleNames);
                        bag.Error(YamlFields.At(item), $"{field}.roles", $"unknown role '{text}'",
                            hint is null ? $"allowed: {string.Join(", ", Names.RoleNames)}" : $"did you mean '{hint}'?");
                    }
                    else if (roles.HasFlag(role))
                        bag.Error(YamlFields.At(item), $"{field}.roles", $"role '{text}' is listed twice");
                    roles |= role;
                }
            }
            var arch = ParseArch(f, "arch", defaultArch, bag);
            result.Add(new ParsedNode(new NodeSpec(name, ip, roles, arch, i), f.AtValue("name"), f.AtValue("ip"), ipValid));
        }
        return result;
    }

    private static void CheckRelations(NetworkSpec? network, ApiServerSpec api, List<ParsedNode> nodes, DiagnosticBag bag,
        Dictionary<string, Location> spots, Location nodesAt)
    {
        if (nodes.Count > 0)
        {
            if (!nodes.Any(n => n.Spec.Is(Roles.Master)))
                bag.Error(nodesAt, "nodes", "no node has the master role", "allowed: at least one node with roles [master]");
            var etcd = nodes.Count(n => n.Spec.Is(Roles.Etcd));
            if (etcd == 0)
                bag.Error(nodesAt, "nodes", "no node has the etcd role", "allowed: at least one etcd member (three or five for a cluster that survives a failure)");
            else if (etcd % 2 == 0)
                bag.Warning(nodesAt, "nodes", $"{etcd} etcd members: an even count tolerates no more failures than {etcd - 1}",
                    "use an odd number of etcd members (1, 3, 5)");
        }

        if (api.Port == api.LocalProxyPort)
            bag.Error(spots["apiServer.localProxyPort"], "apiServer.localProxyPort", $"{api.LocalProxyPort} is also apiServer.port",
                "allowed: a different port: kube-nginx and kube-apiserver both listen on a master");
        foreach (var (key, port) in new[] { ("apiServer.port", api.Port), ("apiServer.localProxyPort", api.LocalProxyPort) })
        {
            if (Layout.ComponentTable.FixedPorts.Contains(port))
                bag.Error(spots[key], key, $"port {port} is used by another cluster component",
                    $"allowed: any port but {string.Join(", ", Layout.ComponentTable.FixedPorts)}");
            if (network is not null && port >= network.NodePortFirst && port <= network.NodePortLast)
                bag.Error(spots[key], key, $"port {port} lies inside network.nodePortRange {network.NodePortRange}",
                    "allowed: a port outside the node-port range");
        }

        if (network is null)
            return;

        var service = network.ServiceCidr;
        var pod = network.PodCidr;
        if (service.Overlaps(pod))
            bag.Error(spots["network.podCidr"], "network.podCidr", $"{pod} overlaps network.serviceCidr {service}",
                "allowed: two disjoint ranges");
        if (service.Prefix < 12)
            bag.Error(spots["network.serviceCidr"], "network.serviceCidr", $"{service} is too large for kube-apiserver",
                "allowed: a prefix of /12 or longer");
        else if (service.Size < 16)
            bag.Error(spots["network.serviceCidr"], "network.serviceCidr", $"{service} is too small",
                "allowed: at least a /28, since the tenth address is the cluster DNS service");

        if (pod.Prefix > 24)
            bag.Error(spots["network.podCidr"], "network.podCidr", $"{pod} is smaller than one /24",
                "allowed: a prefix of /24 or shorter, one /24 per node");
        else if ((1UL << (24 - pod.Prefix)) < (ulong)nodes.Count)
            bag.Error(spots["network.podCidr"], "network.podCidr",
                $"{pod} holds {1UL << (24 - pod.Prefix)} /24 subnets but the site has {nodes.Count} nodes",
                $"allowed: a prefix of /{24 - (int)Math.Ceiling(Math.Log2(nodes.Count))} or shorter");

        foreach (var n in nodes.Where(n => n.IpValid))
        {
            var field = $"nodes[{n.Spec.Index}].ip";
            if (service.Contains(n.Spec.Ip))
                bag.Error(n.IpAt, field, $"{n.Spec.Ip} lies inside network.serviceCidr {service}", "allowed: a node address outside the service and pod ranges");
            if (pod.Contains(n.Spec.Ip))
                bag.Error(n.IpAt, field, $"{n.Spec.Ip} lies inside network.podCidr {pod}", "allowed: a node address outside the service and pod ranges");
        }
    }
}
