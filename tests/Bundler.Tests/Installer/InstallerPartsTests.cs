using Bundler.Configuration;
using Bundler.Layout;
using Bundler.Packaging;

namespace Bundler.Tests.Installer;

/// <summary>
/// The installer's parts on their own: each is sourced after common.sh with the header variables a real node gets
/// (<see cref="BundleHeader.Metadata"/>, i.e. from the roles table), and one function is called. No bundle is built.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
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
    public void GivenAnEtcdOnlyNode_WhenItsHostCommandsArePreflighted_ThenNoneAreNeeded()
    {
        var site = SiteLoader.Parse("""
            name: lab
            kubernetes: 1.36.0
            nodes:
              - { name: m1, ip: 10.88.0.11, roles: [master] }
              - { name: e1, ip: 10.88.0.31, roles: [etcd] }
            """, "site.yaml", PinCatalog.Default()).Site;

        var (code, stdout, stderr) = Run(site, "e1", "preflight.sh", "kb_pf_host_commands; echo \"fails: ${#KB_FAILS[@]}\"");

        Assert.True(code == 0, stderr);
        Assert.Equal("fails: 0\n", stdout);
    }

    [Fact]
    public void GivenAMaster_WhenItsHostCommandsArePreflighted_ThenItsKubeletAndKubeProxyNeedTheirsToo()
    {
        var (code, stdout, stderr) = Run(Site("nftables"), "m1", "preflight.sh", "kb_pf_host_commands; printf '%s\\n' \"${KB_FAILS[@]}\"",
            new() { ["PATH"] = _dir.Path });

        Assert.True(code == 0, stderr);
        Assert.StartsWith("host-commands: missing commands kubelet/kube-proxy need: socat (package socat)", stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// The first master's bootstrap (bootstrap.sh) with a TEST STAND-IN kubectl that logs its arguments (and fails for a
    /// manifest named in KBE_FAIL): the manifests, the state folder and the credentials are in a temp folder.
    /// </summary>
    private (int Code, string Out, string Err) Bootstrap(string[] manifests, string? fail = null)
    {
        var bin = Directory.CreateDirectory(_dir.File("bin")).FullName;
        File.WriteAllText(Path.Combine(bin, "kubectl"), """
            #!/bin/bash
            # TEST STAND-IN for kubectl: logs its arguments; fails for the manifest in KBE_FAIL like a refused apply.
            printf '%s\n' "$*" >>"$KBE_LOG"
            for a in "$@"; do [ -n "${KBE_FAIL:-}" ] && [ "$a" = "$KBE_FAIL" ] && { echo "error: the server rejected $a" >&2; exit 1; }; done
            echo "serverside-applied"
            """);
        File.SetUnixFileMode(Path.Combine(bin, "kubectl"), NodeFile.Executable);
        var state = Directory.CreateDirectory(_dir.File("state")).FullName;
        var env = new Dictionary<string, string>
        {
            [HeaderKeys.BinDir] = bin, [HeaderKeys.StateDir] = state, [HeaderKeys.BootstrapManifests] = string.Join(' ', manifests),
            [HeaderKeys.SuperAdminConf] = _dir.File("super-admin.conf"), [HeaderKeys.AdminConf] = _dir.File("admin.conf"),
            ["KBE_LOG"] = _dir.File("kubectl.log"), ["KBE_FAIL"] = fail ?? "",
        };
        return Run(Site(), "m1", "bootstrap.sh", "kb_fail_install() { echo \"install failed: $2\"; exit 1; }; kb_bootstrap", env);
    }

    private string[] KubectlCalls() => File.Exists(_dir.File("kubectl.log")) ? File.ReadAllLines(_dir.File("kubectl.log")) : [];

    [Fact]
    public void GivenTheFirstMaster_WhenBootstrapRunsTwice_ThenEachManifestIsAppliedOnceInOrderServerSideAndTheSuperAdminCredentialGoes()
    {
        var manifests = new[] { "rbac.yaml", "coredns.yaml", "metrics.yaml" }.Select(m => _dir.File(m)).ToArray();
        foreach (var m in manifests)
            File.WriteAllText(m, $"# {Path.GetFileName(m)}\n");
        File.WriteAllText(_dir.File("super-admin.conf"), "super-admin\n");

        var first = Bootstrap(manifests);
        var afterFirst = KubectlCalls();
        var second = Bootstrap(manifests);

        Assert.True(first.Code == 0, first.Out + first.Err);
        Assert.Equal(manifests.Select(m => $"--kubeconfig {_dir.File("super-admin.conf")} --server https://10.88.0.11:6443 apply --server-side --field-manager=kbundle --force-conflicts -f {m}"),
            afterFirst);
        Assert.Contains("bootstrap: 3 manifest(s) applied, 0 unchanged since applied", first.Out, StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.File("super-admin.conf")));
        Assert.True(File.Exists(_dir.File("state", "bootstrapped")));
        Assert.Equal(manifests.Order(StringComparer.Ordinal).Select(m => $"{PayloadWriter.Sha256Hex(m)} {m}"), File.ReadAllLines(_dir.File("state", "applied")));
        Assert.True(second.Code == 0, second.Out + second.Err);
        Assert.Equal(afterFirst, KubectlCalls());
        Assert.Contains("bootstrap: 0 manifest(s) applied, 3 unchanged since applied", second.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenAManifestThatChangedSinceItWasApplied_WhenBootstrapRuns_ThenOnlyItIsAppliedWithTheAdminCredential()
    {
        var manifests = new[] { "rbac.yaml", "coredns.yaml" }.Select(m => _dir.File(m)).ToArray();
        foreach (var m in manifests)
            File.WriteAllText(m, $"# {Path.GetFileName(m)}\n");
        Assert.Equal(0, Bootstrap(manifests).Code);
        File.AppendAllText(manifests[1], "# a newer bundle's CoreDNS\n");

        var again = Bootstrap(manifests);

        Assert.True(again.Code == 0, again.Out + again.Err);
        Assert.Equal($"--kubeconfig {_dir.File("admin.conf")} --server https://10.88.0.11:6443 apply --server-side --field-manager=kbundle --force-conflicts -f {manifests[1]}",
            KubectlCalls()[^1]);
        Assert.Equal(3, KubectlCalls().Length);
    }

    [Fact]
    public void GivenAManifestTheApiserverRefuses_WhenBootstrapRuns_ThenTheInstallFailsNamingItAndOnlyWhatWasAppliedIsRecorded()
    {
        var manifests = new[] { "rbac.yaml", "broken.yaml", "later.yaml" }.Select(m => _dir.File(m)).ToArray();
        foreach (var m in manifests)
            File.WriteAllText(m, $"# {Path.GetFileName(m)}\n");

        var (code, stdout, _) = Bootstrap(manifests, fail: manifests[1]);

        Assert.Equal(1, code);
        Assert.Contains($"install failed: bootstrap: applying {manifests[1]} failed (kubectl apply --server-side)", stdout, StringComparison.Ordinal);
        Assert.Contains($"error: the server rejected {manifests[1]}", stdout, StringComparison.Ordinal);
        Assert.Equal([$"{PayloadWriter.Sha256Hex(manifests[0])} {manifests[0]}"], File.ReadAllLines(_dir.File("state", "applied")));
        Assert.Equal(2, KubectlCalls().Length);
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
