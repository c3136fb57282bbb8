using System.Text;
using Bundler.Configuration;
using Bundler.Pipeline;
using Bundler.Pki;

namespace Bundler.Tests.Pki;

/// <summary>Sites, a throw-away state folder and the real openssl binary for the PKI tests.</summary>
internal sealed class PkiFixture : IDisposable
{
    public PkiFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), "kbundle-pki-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
        StateDir = Path.Combine(Root, "state", "lab");
    }

    public string Root { get; }
    public string StateDir { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public record Node(string Name, string Ip, params string[] Roles);

    /// <summary>3 etcd+master nodes and 2 workers, like sites/example.</summary>
    public static Node[] StandardNodes(string k8s02Ip = "192.168.93.12") =>
    [
        new("k8s-01", "192.168.93.11", "etcd", "master"),
        new("k8s-02", k8s02Ip, "etcd", "master"),
        new("k8s-03", "192.168.93.13", "etcd", "master"),
        new("k8s-04", "192.168.93.14", "worker"),
        new("k8s-05", "192.168.93.15", "worker"),
    ];

    public static string Yaml(IEnumerable<Node> nodes, string algorithm = "ecdsa-p256", bool caKeyOnMasters = false, string extraSans = "[lb.example.com, 192.168.93.100]")
    {
        var yaml = new StringBuilder($"""
            name: lab
            kubernetes: 1.36.0
            network:
              serviceCidr: 10.254.0.0/16
              podCidr: 172.30.0.0/16
              clusterDomain: cluster.local
            apiServer:
              extraSans: {extraSans}
            pki:
              keyAlgorithm: {algorithm}
              caValidityDays: 3650
              leafValidityDays: 365
              caKeyOnMasters: {(caKeyOnMasters ? "true" : "false")}
            nodes:

            """);
        foreach (var n in nodes)
            yaml.Append($"  - name: {n.Name}\n    ip: {n.Ip}\n    roles: [{string.Join(", ", n.Roles)}]\n");
        return yaml.ToString();
    }

    public string WriteSite(string yaml)
    {
        var path = Path.Combine(Root, "site.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    public static SiteSpec Site(IEnumerable<Node>? nodes = null, string algorithm = "ecdsa-p256", bool caKeyOnMasters = false) =>
        SiteLoader.Parse(Yaml(nodes ?? StandardNodes(), algorithm, caKeyOnMasters), "site.yaml", PinCatalog.Default()).Site;

    public PkiMaterial Ensure(SiteSpec site, bool renew = false, RecordingReporter? reporter = null, DateTimeOffset? now = null) =>
        PkiStore.Ensure(site, StateDir, renew, reporter ?? new RecordingReporter(), now);

    /// <summary>Every file of the state folder, relative path → bytes.</summary>
    public Dictionary<string, byte[]> Snapshot() =>
        Directory.EnumerateFiles(StateDir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(StateDir, f), File.ReadAllBytes);

    public static IEnumerable<string> Changed(Dictionary<string, byte[]> before, Dictionary<string, byte[]> after) =>
        after.Keys.Union(before.Keys)
            .Where(k => !before.TryGetValue(k, out var a) || !after.TryGetValue(k, out var b) || !a.AsSpan().SequenceEqual(b))
            .Order(StringComparer.Ordinal);

    public static (int Code, string Out, string Err) Openssl(params string[] args)
    {
        var result = ProcessRunner.RunAsync("openssl", args).GetAwaiter().GetResult();
        return (result.ExitCode, result.StandardOutput, result.StandardError);
    }
}
