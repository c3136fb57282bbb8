using Bundler.Configuration;
using Bundler.Layout;
using Bundler.Packaging;

namespace Bundler.Tests.Installer;

/// <summary>
/// The installer's parts on their own: each is sourced after common.sh with the header variables a real node gets
/// (<see cref="BundleHeader.Metadata"/>, i.e. from the roles table), and one function is called. No bundle is built.
/// </summary>
public sealed class InstallerPartsTests : IDisposable
{
    private readonly TempDir _dir = new("kbundle-parts");

    public void Dispose() => _dir.Dispose();

    private static SiteSpec Site(string proxyMode = "iptables") => SiteLoader.Parse($"""
        name: lab
        kubernetes: 1.36.0
        network: {"{"} proxyMode: {proxyMode} {"}"}
        nodes:
          - {"{"} name: m1, ip: 10.88.0.11, roles: [etcd, master] {"}"}
          - {"{"} name: w1, ip: 10.88.0.21, roles: [worker] {"}"}
        """, "site.yaml", PinCatalog.Default()).Site;

    /// <summary>Runs <paramref name="script"/> after sourcing common.sh and <paramref name="part"/>, with the node's header variables.</summary>
    private (int Code, string Out, string Err) Run(SiteSpec site, string node, string part, string script, Dictionary<string, string>? extra = null)
    {
        var spec = site.Node(node);
        var env = BundleHeader.Metadata(site, spec, ComponentTable.UnitsFor(spec.Roles), 0).ToDictionary(kv => kv.Key, kv => kv.Value);
        foreach (var (key, value) in extra ?? [])
            env[key] = value;
        var parts = Path.Combine(Bundler.Configuration.ToolPaths.Find("bundle-templates"), "installer");
        var result = ProcessRunner.RunAsync("bash", ["-c", $"source '{parts}/common.sh' && source '{parts}/{part}' && {script}"], _dir.Path, env)
            .GetAwaiter().GetResult();
        return (result.ExitCode, result.StandardOutput, result.StandardError);
    }

    [Fact]
    public void GivenAWorkersHeader_WhenAHealthCheckAsksForAPortByName_ThenKbPortAnswersFromTheRolesTable()
    {
        var site = Site();

        var kubelet = Run(site, "w1", "health.sh", "kb_port kubelet healthz; echo; kb_port kube-nginx proxy");
        var etcd = Run(site, "w1", "health.sh", "kb_port etcd client");

        Assert.Equal("10248\n8443", kubelet.Out);
        Assert.Equal(1, etcd.Code);
        Assert.Equal("", etcd.Out);
    }

    [Fact]
    public void GivenAHostListeningOnTheEtcdMetricsPort_WhenAnEtcdMastersPortsArePreflighted_ThenTheCheckNamesThatPort()
    {
        // /proc/net/tcp: 127.0.0.1:2381 (0x094D) listening (state 0A).
        var proc = _dir.File("proc", "net");
        Directory.CreateDirectory(proc);
        File.WriteAllText(Path.Combine(proc, "tcp"), "  sl  local_address rem_address   st\n   0: 0100007F:094D 00000000:0000 0A 0\n");

        var (code, stdout, stderr) = Run(Site(), "m1", "preflight.sh", "kb_pf_ports; printf '%s\\n' \"${KB_FAILS[@]}\"",
            new() { ["KBUNDLE_PROC_ROOT"] = _dir.Path });

        Assert.True(code == 0, stderr);
        Assert.Equal("ports: ports in use: 2381; stop what listens there (ss -ltnp)\n", stdout);
    }

    [Fact]
    public void GivenAnNftablesWorkerOnAHostWithoutItsCommands_WhenPreflighted_ThenEachIsNamedWithItsPackageAndWhoNeedsIt()
    {
        var (code, stdout, stderr) = Run(Site("nftables"), "w1", "preflight.sh", "kb_pf_host_commands; printf '%s\\n' \"${KB_FAILS[@]}\"",
            new() { ["PATH"] = _dir.Path });

        Assert.True(code == 0, stderr);
        Assert.Equal("host-commands: missing commands kubelet/kube-proxy need: socat (package socat) mount (package mount (util-linux)) " +
                     "conntrack (package conntrack (RHEL: conntrack-tools)) nft (package nftables); install them\n", stdout);
    }

    [Fact]
    public void GivenAnEtcdMaster_WhenItsHostCommandsArePreflighted_ThenNoneAreNeeded()
    {
        var (code, stdout, stderr) = Run(Site(), "m1", "preflight.sh", "kb_pf_host_commands; echo \"fails: ${#KB_FAILS[@]}\"");

        Assert.True(code == 0, stderr);
        Assert.Equal("fails: 0\n", stdout);
    }

    [Fact]
    public void GivenAnEtcdMemberWaitingForItsPeers_WhenTheHealthCheckWaits_ThenItNamesThePeersAndSaysToInstallThemTogether()
    {
        var site = SiteLoader.Parse("""
            name: lab
            kubernetes: 1.36.0
            nodes:
              - { name: m1, ip: 10.88.0.11, roles: [etcd, master] }
              - { name: m2, ip: 10.88.0.12, roles: [etcd, master] }
              - { name: e3, ip: 10.88.0.13, roles: [etcd] }
              - { name: w1, ip: 10.88.0.21, roles: [worker] }
            """, "site.yaml", PinCatalog.Default()).Site;

        var (code, stdout, stderr) = Run(site, "m1", "health.sh", "kb_health etcd",
            new() { ["KBUNDLE_HEALTH_CMD"] = "false", ["KBUNDLE_HEALTH_TIMEOUT"] = "0" });

        Assert.Equal(1, code);
        var all = stdout + stderr;
        Assert.Contains("m2 (10.88.0.12)", all, StringComparison.Ordinal);
        Assert.Contains("e3 (10.88.0.13)", all, StringComparison.Ordinal);
        Assert.DoesNotContain("w1", all, StringComparison.Ordinal);
        Assert.Contains("install the etcd members together", all, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1 localhost\n10.0.0.9 last-line-without-newline", "127.0.0.1 localhost\n10.0.0.9 last-line-without-newline\n")]
    [InlineData("127.0.0.1 localhost\n# BEGIN kbundle lab\n10.88.0.11 m1\n# END kbundle lab\n10.0.0.9 after\n", "127.0.0.1 localhost\n10.0.0.9 after\n")]
    [InlineData("127.0.0.1 localhost\n# BEGIN kbundle lab\n10.88.0.11 m1\n10.0.0.9 after-a-lost-end-marker\n",
        "127.0.0.1 localhost\n10.88.0.11 m1\n10.0.0.9 after-a-lost-end-marker\n")]
    public void GivenAHostsFile_WhenTheClusterBlockIsTakenOut_ThenEveryOtherLineStays(string hosts, string expected)
    {
        var input = _dir.File("hosts.in");
        File.WriteAllText(input, hosts);

        var (code, stdout, stderr) = Run(Site(), "w1", "install.sh", $"kb_hosts_without_block < '{input}'");

        Assert.True(code == 0, stderr);
        Assert.Equal(expected, stdout);
    }

    [Fact]
    public void GivenAHostsFileWithAStaleBlockAndNoStagingFolder_WhenTheBlockIsWrittenThenRemoved_ThenOnlyTheBlockChangesAndNoTemporaryFileStays()
    {
        var hosts = _dir.File("hosts");
        File.WriteAllText(hosts, "127.0.0.1 localhost\n# BEGIN kbundle lab\n10.0.0.1 old\n# END kbundle lab\n10.0.0.9 last");
        var tmp = _dir.File("tmp");
        Directory.CreateDirectory(tmp);
        var env = new Dictionary<string, string> { ["KBUNDLE_HOSTS_FILE"] = hosts, ["TMPDIR"] = tmp };

        var written = Run(Site(), "w1", "install.sh", "kb_hosts_block", env);
        var afterWrite = File.ReadAllText(hosts);
        var removed = Run(Site(), "w1", "install.sh", "kb_hosts_block remove", env);

        Assert.True(written.Code == 0 && removed.Code == 0, written.Err + removed.Err);
        Assert.Equal("127.0.0.1 localhost\n10.0.0.9 last\n# BEGIN kbundle lab\n10.88.0.11 m1\n10.88.0.21 w1\n# END kbundle lab\n", afterWrite);
        Assert.Equal("127.0.0.1 localhost\n10.0.0.9 last\n", File.ReadAllText(hosts));
        Assert.Empty(Directory.EnumerateFileSystemEntries(tmp));
    }
}
