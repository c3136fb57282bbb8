using System.Globalization;
using Bundler.Tests.Packaging;
using Xunit;

namespace Bundler.Tests.Installer;

/// <summary>
/// Drives each preflight check through KBUNDLE_PROC_ROOT (a fake /proc, /sys, /run) and the other test hooks.
/// Every run is --dry-run, so a check that wrongly passes still cannot change this machine.
/// </summary>
public sealed class PreflightTests : IDisposable
{
    private readonly BundleFixture _fx = new();
    private readonly string _proc;

    public PreflightTests()
    {
        Environment.SetEnvironmentVariable("SOURCE_DATE_EPOCH", BundleFixture.Epoch.ToString(CultureInfo.InvariantCulture));
        _proc = Path.Combine(_fx.Root, "fakeroot");
    }

    public void Dispose() => _fx.Dispose();

    private void Write(string relative, string text)
    {
        var path = Path.Combine(_proc, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    private const string TcpHeader = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

    private void HealthyHost(string ip = "10.88.0.11")
    {
        Write("proc/sys/kernel/arch", "x86_64\n");
        Directory.CreateDirectory(Path.Combine(_proc, "run/systemd/system"));
        Write("sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n");
        Write("proc/net/fib_trie", $"Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- {ip}\n        /32 host LOCAL\n");
        Write("proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
        Directory.CreateDirectory(Path.Combine(_proc, "sys/module/overlay"));
        Directory.CreateDirectory(Path.Combine(_proc, "sys/module/br_netfilter"));
        Write("proc/net/tcp", TcpHeader);
    }

    private (int Code, string Out, string Err) DryRun(Dictionary<string, string> env, params string[] extra) => DryRunOf("m1", env, extra);

    private (int Code, string Out, string Err) DryRunOf(string node, Dictionary<string, string> env, params string[] extra)
    {
        env["KBUNDLE_PROC_ROOT"] = _proc;
        env["TMPDIR"] = _fx.Root;
        return BundleFixture.Run("bash", [Path.Combine(_fx.Out(), node + ".run"), "--dry-run", .. extra], env);
    }

    [Fact]
    public async Task GivenAHostFailingEveryCheck_WhenRun_ThenAllFailuresAreListedAtOnceWithTheFixAndExit3()
    {
        await _fx.BuildAsync();
        Write("proc/sys/kernel/arch", "aarch64\n");
        Write("proc/net/fib_trie", "Main:\n     |-- 10.1.2.3\n        /32 host LOCAL\n");
        Write("proc/swaps", "Filename Type Size Used Priority\n/swapfile file 1048572 0 -2\n");
        Directory.CreateDirectory(Path.Combine(_proc, "sys/module/overlay"));
        Write("proc/net/tcp", TcpHeader + "   0: 0100007F:094B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n");

        var (code, stdout, stderr) = DryRun(new() { ["KBUNDLE_FAKE_UID"] = "1000", ["KBUNDLE_NOW"] = "0" }, "--skip-preflight", "other-site,disk,host-commands");

        Assert.True(code == 3, stdout + stderr);
        Assert.Contains("root: runs as uid 1000; run it as root", stderr, StringComparison.Ordinal);
        Assert.Contains("arch: this host is arm64 (aarch64), the bundle is for amd64", stderr, StringComparison.Ordinal);
        Assert.Contains("systemd: systemd is not the init system", stderr, StringComparison.Ordinal);
        Assert.Contains("cgroup2: cgroup v2 is not mounted", stderr, StringComparison.Ordinal);
        Assert.Contains("node-ip: 10.88.0.11 (this node's IP in the site file) is on no interface", stderr, StringComparison.Ordinal);
        Assert.Contains("swap: swap is on; run swapoff -a", stderr, StringComparison.Ordinal);
        Assert.Contains("modules: kernel modules not loadable: br_netfilter", stderr, StringComparison.Ordinal);
        Assert.Contains("ports: ports in use: 2379", stderr, StringComparison.Ordinal);
        Assert.Contains("warning: clock:", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("dry run:", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAHealthyHost_WhenRun_ThenPreflightPassesAndTheDryRunReports()
    {
        await _fx.BuildAsync();
        HealthyHost();

        Write("proc/sys/net/ipv4/ip_forward", "1\n");
        Write("proc/sys/net/bridge/bridge-nf-call-iptables", "0\n");

        var (code, stdout, stderr) = DryRun(new() { ["KBUNDLE_FAKE_UID"] = "0" }, "--skip-preflight", "other-site,disk");

        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("dry run: ", stdout, StringComparison.Ordinal);
        Assert.Contains("sysctl net.bridge.bridge-nf-call-iptables: 0 -> 1", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("sysctl net.ipv4.ip_forward", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAWorkerHost_WhenDryRun_ThenItListsTheHostsBlockTheModulesToLoadAndTheRoutes()
    {
        await _fx.BuildAsync();
        HealthyHost("10.88.0.21");
        Directory.Delete(Path.Combine(_proc, "sys/module/br_netfilter"));
        var hosts = Path.Combine(_fx.Root, "hosts");
        File.WriteAllText(hosts, "127.0.0.1 localhost\n");

        var (code, stdout, stderr) = DryRunOf("w1", new() { ["KBUNDLE_FAKE_UID"] = "0", ["KBUNDLE_HOSTS_FILE"] = hosts },
            "--skip-preflight", "other-site,disk,modules,host-commands");

        Assert.True(code == 0, stdout + stderr);
        Assert.Contains($"hosts    {hosts}: add the block of site lab: 10.88.0.11 m1, 10.88.0.21 w1, 10.88.0.22 w2", stdout, StringComparison.Ordinal);
        Assert.Contains("module   br_netfilter: load", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("module   overlay", stdout, StringComparison.Ordinal);
        Assert.Contains("route    172.30.2.0/24 via 10.88.0.22", stdout, StringComparison.Ordinal);
        Assert.Equal("127.0.0.1 localhost\n", File.ReadAllText(hosts));
    }

    [RootFact("mount", "umount")]
    public async Task GivenAFullDisk_WhenRun_ThenTheDiskCheckFailsWithWhatIsFreeAndNeeded()
    {
        await _fx.BuildAsync();
        HealthyHost();
        // A real 1 MiB filesystem: the bundle needs four times its payload.
        var small = Path.Combine(_fx.Root, "small-disk");
        Directory.CreateDirectory(small);
        var mount = BundleFixture.Run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", small]);
        Assert.True(mount.Code == 0, "mounting a test tmpfs needs root: " + mount.Err);
        try
        {
            var (code, stdout, stderr) = DryRun(new() { ["KBUNDLE_FAKE_UID"] = "0", ["KBUNDLE_DISK_PATH"] = small }, "--skip-preflight", "other-site");

            Assert.True(code == 3, stdout + stderr);
            Assert.Matches($@"disk: \d+K free on {System.Text.RegularExpressions.Regex.Escape(small)}, \d+K needed; free some space", stderr);
        }
        finally
        {
            BundleFixture.Run("umount", [small]);
        }
    }

    [Theory]
    [InlineData("root")]
    [InlineData("swap")]
    public async Task GivenAFailingCheck_WhenSkippedByName_ThenItNoLongerBlocks(string check)
    {
        await _fx.BuildAsync();
        HealthyHost();
        Write("proc/swaps", "Filename Type Size Used Priority\n/swapfile file 1048572 0 -2\n");

        var failing = DryRun(new() { ["KBUNDLE_FAKE_UID"] = "1000" }, "--skip-preflight", "other-site,disk");
        var skipped = DryRun(new() { ["KBUNDLE_FAKE_UID"] = "1000" }, "--skip-preflight", $"other-site,disk,root,swap");

        Assert.Equal(3, failing.Code);
        Assert.Contains(check + ": ", failing.Err, StringComparison.Ordinal);
        Assert.True(skipped.Code == 0, skipped.Err);
    }

    [Fact]
    public async Task GivenAnUnknownCheckName_WhenSkipped_ThenUsageErrorListsTheChecks()
    {
        await _fx.BuildAsync();

        var (code, _, stderr) = DryRun([], "--skip-preflight", "swapp");

        Assert.Equal(2, code);
        Assert.Contains("--skip-preflight swapp: no such check; checks: root arch systemd", stderr, StringComparison.Ordinal);
    }
}
