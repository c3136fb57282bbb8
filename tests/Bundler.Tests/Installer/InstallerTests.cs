using System.Text.RegularExpressions;
using Bundler.Packaging;
using Bundler.Tests.Packaging;
using Xunit;

namespace Bundler.Tests.Installer;

/// <summary>Runs real bundles' installers with --root in temp folders (SPEC §3).</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class InstallerTests : IDisposable
{
    private readonly BundleFixture _fx = new();
    private readonly string _root;
    private readonly Dictionary<string, string> _env;

    public InstallerTests()
    {
        (_root, _env) = _fx.InstallerHost();
    }

    public void Dispose() => _fx.Dispose();

    private string Bundle(string node = "m1", string dir = "artifacts") => Path.Combine(_fx.Out(dir), node + ".run");

    private (int Code, string Out, string Err) Run(string bundle, params string[] args) => BundleFixture.Run("bash", [bundle, .. args], _env);

    private static BundleManifest Manifest(string dir) => BundleManifest.Parse(File.ReadAllBytes(Path.Combine(dir, "manifest.json")), "manifest.json");

    private static string Mode(string path) => Convert.ToString((int)File.GetUnixFileMode(path), 8).PadLeft(4, '0');

    [Fact]
    public async Task GivenABundle_WhenInstalledUnderRoot_ThenEveryFileLandsWithItsPathModeAndHash()
    {
        await _fx.BuildAsync();

        var (code, stdout, stderr) = Run(Bundle(), "--root", _root, "--yes");

        Assert.True(code == 0, stdout + stderr);
        var node = Manifest(_fx.Out()).Nodes.Single(n => n.Name == "m1");
        foreach (var file in node.Files)
        {
            var path = _root + file.Path;
            Assert.True(File.Exists(path), file.Path);
            Assert.Equal(file.Mode, Mode(path));
            Assert.Equal(file.Sha256, PayloadWriter.Sha256Hex(path));
        }
        Assert.Equal("0700", Convert.ToString((int)File.GetUnixFileMode(_root + "/etc/kubernetes/pki"), 8).PadLeft(4, '0'));
        Assert.Equal("0600", Mode(_root + "/root/.kube/config"));
        Assert.Equal(File.ReadAllBytes(_root + "/etc/kubernetes/admin.conf"), File.ReadAllBytes(_root + "/root/.kube/config"));
        Assert.True(Directory.Exists(_root + "/var/lib/etcd"));
        var journal = File.ReadAllLines(_root + "/var/lib/kbundle/journal");
        Assert.Contains($"{node.Files.Single(f => f.Path == "/opt/k8s/bin/etcd").Sha256} /opt/k8s/bin/etcd", journal);
        Assert.Equal("lab", File.ReadAllText(_root + "/var/lib/kbundle/site").Trim());
        Assert.Contains("done: ", stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_root + "/.kbundle"));
    }

    [Fact]
    public async Task GivenAnInstalledRoot_WhenRunAgain_ThenZeroChangesAndDryRunSaysAllSame()
    {
        await _fx.BuildAsync();
        Assert.Equal(0, Run(Bundle(), "--root", _root).Code);
        var journal = File.ReadAllText(_root + "/var/lib/kbundle/journal");

        var again = Run(Bundle(), "--root", _root);
        var dry = Run(Bundle(), "--root", _root, "--dry-run");

        Assert.True(again.Code == 0, again.Err);
        Assert.Contains("done: 0 changes", again.Out, StringComparison.Ordinal);
        Assert.Equal(journal, File.ReadAllText(_root + "/var/lib/kbundle/journal"));
        Assert.True(dry.Code == 0, dry.Err);
        Assert.DoesNotContain("new ", dry.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("changed ", dry.Out, StringComparison.Ordinal);
        Assert.Contains("same     /opt/k8s/bin/etcd", dry.Out, StringComparison.Ordinal);
        Assert.Contains("dry run: 0 new, 0 changed,", dry.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAnEmptyRoot_WhenDryRun_ThenEverythingIsNewAndNothingIsWritten()
    {
        await _fx.BuildAsync();

        var (code, stdout, stderr) = Run(Bundle(), "--root", _root, "--dry-run");

        Assert.True(code == 0, stderr);
        Assert.Contains("new      /etc/kubernetes/pki/apiserver.key", stdout, StringComparison.Ordinal);
        Assert.Contains("unit     etcd: enable, (re)start", stdout, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root));
    }

    [Fact]
    public async Task GivenANewerBundle_WhenInstalled_ThenOnlyDifferingFilesAreReplacedAndTheirUnitsNamed()
    {
        await _fx.BuildAsync();
        Assert.Equal(0, Run(Bundle("w1"), "--root", _root).Code);
        _fx.ReplaceUpstream("kubelet", "/usr/bin/du");
        await _fx.BuildAsync(_fx.Out("v2"));

        var dry = Run(Bundle("w1", "v2"), "--root", _root, "--dry-run");
        var (code, stdout, stderr) = Run(Bundle("w1", "v2"), "--root", _root);

        Assert.Contains("changed  /opt/k8s/bin/kubelet", dry.Out, StringComparison.Ordinal);
        Assert.Contains("unit     kubelet: enable, (re)start", dry.Out, StringComparison.Ordinal);
        Assert.Contains("unit     kube-proxy: unchanged", dry.Out, StringComparison.Ordinal);
        Assert.True(code == 0, stderr);
        Assert.Contains("done: 1 changes", stdout, StringComparison.Ordinal);
        Assert.Equal(PayloadWriter.Sha256Hex("/usr/bin/du"), PayloadWriter.Sha256Hex(_root + "/opt/k8s/bin/kubelet"));
    }

    [Fact]
    public async Task GivenAnInstalledRoot_WhenUninstalled_ThenNothingFromTheJournalRemainsAndReplacedFilesComeBack()
    {
        await _fx.BuildAsync();
        Directory.CreateDirectory(_root + "/etc/sysctl.d");
        File.WriteAllText(_root + "/etc/sysctl.d/99-kubernetes.conf", "# the host's own\n");
        Assert.Equal(0, Run(Bundle(), "--root", _root).Code);
        var journal = File.ReadAllLines(_root + "/var/lib/kbundle/journal").Where(l => !l.StartsWith("dir ", StringComparison.Ordinal)).Select(l => l.Split(' ', 2)[1]).ToList();

        var (code, stdout, stderr) = Run(Bundle(), "--root", _root, "--uninstall", "--purge", "--yes");

        Assert.True(code == 0, stdout + stderr);
        foreach (var path in journal.Where(p => p != "/etc/sysctl.d/99-kubernetes.conf"))
            Assert.False(File.Exists(_root + path), path);
        Assert.Equal("# the host's own\n", File.ReadAllText(_root + "/etc/sysctl.d/99-kubernetes.conf"));
        Assert.False(Directory.Exists(_root + "/opt/k8s"));
        Assert.False(Directory.Exists(_root + "/etc/kubernetes"));
        Assert.False(Directory.Exists(_root + "/var/lib/etcd"));
        Assert.False(Directory.Exists(_root + "/var/lib/kbundle"));
    }

    [Fact]
    public async Task GivenAnInstalledRootWithData_WhenUninstalledWithoutPurge_ThenTheDataStays()
    {
        await _fx.BuildAsync();
        Assert.Equal(0, Run(Bundle(), "--root", _root).Code);
        File.WriteAllText(_root + "/var/lib/etcd/member.db", "cluster data");

        var (code, _, stderr) = Run(Bundle(), "--root", _root, "--uninstall", "--yes");

        Assert.True(code == 0, stderr);
        Assert.Equal("cluster data", File.ReadAllText(_root + "/var/lib/etcd/member.db"));
        Assert.False(File.Exists(_root + "/opt/k8s/bin/etcd"));
        Assert.False(File.Exists(_root + "/var/lib/kbundle/journal"));
    }

    [Fact]
    public async Task GivenABundle_ThenInfoListExtractAndCheckBehaveAsSpec()
    {
        await _fx.BuildAsync();
        var extract = Path.Combine(_fx.Root, "x");

        var info = Run(Bundle(), "--info");
        var list = Run(Bundle(), "--list");
        var check = Run(Bundle(), "--check");
        var unpack = Run(Bundle(), "--extract", extract);
        var usage = Run(Bundle(), "--bogus");

        Assert.Equal(0, info.Code);
        Assert.Contains("node:           m1 (10.88.0.11)", info.Out, StringComparison.Ordinal);
        Assert.Contains("payload sha256: " + Bundler.Inspection.BundleReader.Open(Bundle()).PayloadSha256, info.Out, StringComparison.Ordinal);
        Assert.Equal(0, list.Code);
        Assert.Matches(@"-rw------- root/root +\d+ .* etc/kubernetes/pki/apiserver\.key", list.Out);
        Assert.DoesNotContain(".kbundle", list.Out, StringComparison.Ordinal);
        Assert.Equal(0, check.Code);
        Assert.Contains("header and payload verified", check.Out, StringComparison.Ordinal);
        Assert.Equal(0, unpack.Code);
        Assert.Equal(PayloadWriter.Sha256Hex("/usr/bin/ls"), PayloadWriter.Sha256Hex(extract + "/opt/k8s/bin/etcd"));
        Assert.Equal(2, usage.Code);
        Assert.Contains("unknown option: --bogus", usage.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenNoTmpdir_WhenRun_ThenItStagesBesideItselfAndCleansUp()
    {
        await _fx.BuildAsync();
        var beside = Path.Combine(_fx.Root, "usb");
        Directory.CreateDirectory(beside);
        File.Copy(Bundle(), Path.Combine(beside, "m1.run"));
        _env.Remove("TMPDIR");

        var (code, _, stderr) = BundleFixture.Run("env", ["-u", "TMPDIR", "bash", Path.Combine(beside, "m1.run"), "--root", _root, "--dry-run"]);

        Assert.True(code == 0, stderr);
        Assert.Equal(["m1.run"], Directory.EnumerateFileSystemEntries(beside).Select(Path.GetFileName));
    }

    [Fact]
    public async Task GivenAWorkerHostWithoutConntrackOrSocat_WhenPreflighted_ThenTheMissingCommandsAreNamedWithPackages()
    {
        await _fx.BuildAsync();
        // A PATH with only what the installer itself needs: coreutils, tar, gzip.
        var bin = Path.Combine(_fx.Root, "minimal-bin");
        Directory.CreateDirectory(bin);
        foreach (var tool in new[] { "bash", "tail", "head", "tee", "sha256sum", "stat", "readlink", "dirname", "mktemp", "rm", "tar", "gzip", "cat", "id", "uname", "date", "df", "tr", "cut", "mkdir", "sort" })
        {
            var found = new[] { "/usr/bin/", "/bin/" }.Select(d => d + tool).First(File.Exists);
            File.CreateSymbolicLink(Path.Combine(bin, tool), found);
        }
        var proc = Path.Combine(_fx.Root, "proc");
        Directory.CreateDirectory(proc);

        var (code, _, stderr) = BundleFixture.Run(Path.Combine(bin, "bash"), [Bundle("w1"), "--dry-run", "--skip-preflight", "root,arch,systemd,cgroup2,node-ip,swap,modules,ports,disk,clock,other-site"],
            new Dictionary<string, string> { ["PATH"] = bin, ["TMPDIR"] = _fx.Root, ["KBUNDLE_PROC_ROOT"] = proc });

        Assert.Equal(3, code);
        Assert.Contains("host-commands: missing commands kubelet/kube-proxy need: socat (package socat) mount (package mount (util-linux)) conntrack (package conntrack (RHEL: conntrack-tools)) iptables (package iptables)", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAnotherNodesInstall_WhenThisBundleUninstalls_ThenItRefusesWithExit3NamingBothAndRemovesNothing()
    {
        await _fx.BuildAsync();
        Assert.Equal(0, Run(Bundle("m1"), "--root", _root).Code);
        File.WriteAllText(_root + "/var/lib/etcd/member.db", "cluster data");
        var before = Directory.EnumerateFileSystemEntries(_root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();

        var (code, _, stderr) = Run(Bundle("w1"), "--root", _root, "--uninstall", "--purge", "--yes");

        Assert.Equal(3, code);
        Assert.Contains("this host holds node 'm1' of site 'lab'; this bundle is node 'w1' of site 'lab'", stderr, StringComparison.Ordinal);
        Assert.Equal(before, Directory.EnumerateFileSystemEntries(_root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList());
    }

    [Fact]
    public async Task GivenNoTerminalAndNoYes_WhenUninstalling_ThenItAsksForYesWithExit2AndRemovesNothing()
    {
        await _fx.BuildAsync();
        Assert.Equal(0, Run(Bundle(), "--root", _root).Code);

        var (code, _, stderr) = Run(Bundle(), "--root", _root, "--uninstall");

        Assert.Equal(2, code);
        Assert.Contains("pass --yes", stderr, StringComparison.Ordinal);
        Assert.True(File.Exists(_root + "/var/lib/kbundle/journal"));
        Assert.True(File.Exists(_root + "/opt/k8s/bin/etcd"));
    }

    [Fact]
    public async Task GivenAnUninstalledRoot_WhenUninstalledAgain_ThenItSaysSoWithExit0AndTheHostsRestoredFilesStay()
    {
        await _fx.BuildAsync();
        Directory.CreateDirectory(_root + "/etc/sysctl.d");
        File.WriteAllText(_root + "/etc/sysctl.d/99-kubernetes.conf", "# the host's own\n");
        Assert.Equal(0, Run(Bundle(), "--root", _root).Code);
        Assert.Equal(0, Run(Bundle(), "--root", _root, "--uninstall", "--yes").Code);

        var (code, stdout, stderr) = Run(Bundle(), "--root", _root, "--uninstall", "--yes");

        Assert.True(code == 0, stderr);
        Assert.Contains("nothing to uninstall", stdout, StringComparison.Ordinal);
        Assert.Equal("# the host's own\n", File.ReadAllText(_root + "/etc/sysctl.d/99-kubernetes.conf"));
    }

    [Fact]
    public async Task GivenAnUninstallCutShortAfterRestoring_WhenRunAgain_ThenTheRestoredHostFileIsKept()
    {
        await _fx.BuildAsync();
        Directory.CreateDirectory(_root + "/etc/sysctl.d");
        File.WriteAllText(_root + "/etc/sysctl.d/99-kubernetes.conf", "# the host's own\n");
        Assert.Equal(0, Run(Bundle(), "--root", _root).Code);
        // What a first uninstall that died after restoring this file leaves: the host's bytes back, journal still there.
        File.Copy(_root + "/var/lib/kbundle/backup/etc/sysctl.d/99-kubernetes.conf", _root + "/etc/sysctl.d/99-kubernetes.conf", overwrite: true);
        File.Delete(_root + "/var/lib/kbundle/backup/etc/sysctl.d/99-kubernetes.conf");

        var (code, stdout, stderr) = Run(Bundle(), "--root", _root, "--uninstall", "--yes");

        Assert.True(code == 0, stdout + stderr);
        Assert.Equal("# the host's own\n", File.ReadAllText(_root + "/etc/sysctl.d/99-kubernetes.conf"));
        Assert.Contains("kept: /etc/sysctl.d/99-kubernetes.conf", stdout, StringComparison.Ordinal);
        Assert.False(File.Exists(_root + "/opt/k8s/bin/etcd"));
    }

    [Fact]
    public async Task GivenARootOfAnotherSite_WhenInstalled_ThenItRefusesWithExit3()
    {
        await _fx.BuildAsync();
        Directory.CreateDirectory(_root + "/var/lib/kbundle");
        File.WriteAllText(_root + "/var/lib/kbundle/site", "prod\n");

        var (code, _, stderr) = Run(Bundle(), "--root", _root);

        Assert.Equal(3, code);
        Assert.Contains("other-site: this host has an install of site 'prod'", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAUnitWhoseHealthCheckFails_WhenUpgrading_ThenTheExactPreviousFilesAreRestoredAndExit1()
    {
        await _fx.BuildAsync();
        var calls = Path.Combine(_fx.Root, "systemctl.log");
        var systemctl = _fx.Executable("systemctl", $"#!/bin/bash\necho \"$*\" >> {calls}\n[ \"$1\" = is-active ] && exit 3\nexit 0\n");
        var health = _fx.Executable("health", "#!/bin/bash\n[ \"$1\" != kubelet ]\n");
        _env["KBUNDLE_SYSTEMCTL"] = systemctl;
        _env["KBUNDLE_HEALTH_CMD"] = "/bin/true";
        _env["KBUNDLE_HEALTH_TIMEOUT"] = "0";
        Assert.Equal(0, Run(Bundle("w1"), "--root", _root).Code);
        var before = Snapshot();
        // A newer build: a new kubelet, and w1 also becomes an etcd member (new binaries, certificates, a new unit).
        _fx.ReplaceUpstream("kubelet", "/usr/bin/du");
        _fx.SiteYaml = _fx.SiteYaml.Replace("ip: 10.88.0.21\n    roles: [worker]", "ip: 10.88.0.21\n    roles: [etcd, worker]", StringComparison.Ordinal);
        await _fx.BuildAsync(_fx.Out("v2"));
        Assert.Contains("/etc/systemd/system/etcd.service", File.ReadAllText(Path.Combine(_fx.Out("v2"), "manifest.json")), StringComparison.Ordinal);
        _env["KBUNDLE_HEALTH_CMD"] = health;

        var (code, stdout, stderr) = Run(Bundle("w1", "v2"), "--root", _root);

        Assert.True(code == 1, stdout + stderr);
        Assert.Contains("install failed: health check of kubelet failed", stdout, StringComparison.Ordinal);
        Assert.Contains("rolled back", stdout, StringComparison.Ordinal);
        var after = Snapshot();
        Assert.True(before.SequenceEqual(after), string.Join("\n", before.Except(after).Concat(after.Except(before))));
        Assert.Contains("stop kubelet", File.ReadAllText(calls), StringComparison.Ordinal);
        Assert.Contains("\"check\":\"health:kubelet\",\"result\":\"fail\"", File.ReadAllText(_root + "/var/lib/kbundle/checks.jsonl"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenRunningUnits_WhenANewerBundleChangesOnlyKubelet_ThenOnlyKubeletIsRestartedAndAReRunRestartsNothing()
    {
        await _fx.BuildAsync();
        var calls = Path.Combine(_fx.Root, "systemctl.log");
        // Every unit reports active, as on a running node.
        var systemctl = _fx.Executable("systemctl", $"#!/bin/bash\necho \"$*\" >> {calls}\nexit 0\n");
        _env["KBUNDLE_SYSTEMCTL"] = systemctl;
        _env["KBUNDLE_HEALTH_CMD"] = "/bin/true";
        Assert.Equal(0, Run(Bundle("w1"), "--root", _root).Code);
        _fx.ReplaceUpstream("kubelet", "/usr/bin/du");
        await _fx.BuildAsync(_fx.Out("v2"));
        File.Delete(calls);

        var upgrade = Run(Bundle("w1", "v2"), "--root", _root);
        var upgradeCalls = File.ReadAllLines(calls);
        File.Delete(calls);
        var again = Run(Bundle("w1", "v2"), "--root", _root);

        Assert.True(upgrade.Code == 0, upgrade.Out + upgrade.Err);
        Assert.Equal(["restart kubelet"], upgradeCalls.Where(c => c.StartsWith("restart", StringComparison.Ordinal)));
        Assert.True(again.Code == 0, again.Err);
        Assert.DoesNotContain(File.ReadAllLines(calls), c => c.StartsWith("restart", StringComparison.Ordinal));
        Assert.Contains("done: 0 changes", again.Out, StringComparison.Ordinal);
    }

    /// <summary>Every file under the root with its mode and hash, except the logs and the lock (they record the failed run).</summary>
    private SortedDictionary<string, string> Snapshot() => new(
        Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".log", StringComparison.Ordinal) && !f.EndsWith("checks.jsonl", StringComparison.Ordinal) && !f.EndsWith("/var/lib/kbundle/lock", StringComparison.Ordinal) && !f.Contains("/var/lib/kbundle/backup/", StringComparison.Ordinal))
            .ToDictionary(f => f[_root.Length..], f => Mode(f) + " " + PayloadWriter.Sha256Hex(f)), StringComparer.Ordinal);

    [Fact]
    public async Task GivenTheRenderedScript_ThenEveryAddressIsLoopbackOrAClusterNodeAndThereIsNoDownloadCode()
    {
        await _fx.BuildAsync();
        var header = System.Text.Encoding.UTF8.GetString(Bundler.Inspection.BundleReader.Open(Bundle()).HeaderBytes);
        var nodes = _fx.Site.Nodes.Select(n => n.Ip.ToString()).ToHashSet();

        // https://%s:%s: an etcd member's URL, its address from KB_ETCD_MEMBERS (the site's members, checked below).
        foreach (Match url in UrlPattern().Matches(header))
            Assert.Matches(@"^https?://(127\.0\.0\.1|\$KB_IP|localhost|%s)[:/]", url.Value);
        foreach (Match ip in IpPattern().Matches(header))
            Assert.True(ip.Value.StartsWith("127.", StringComparison.Ordinal) || nodes.Contains(ip.Value), ip.Value);
        foreach (var word in new[] { "wget", "curl", "apt-get", "apt ", "yum", "dnf", "pip ", "zypper", "/dev/udp" })
            Assert.DoesNotContain(word, header, StringComparison.Ordinal);
        Assert.DoesNotContain("/dev/tcp/$", header.Replace("/dev/tcp/127.0.0.1/$", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [GeneratedRegex(@"[a-z]+://[^\s""')]+")]
    private static partial Regex UrlPattern();

    [GeneratedRegex(@"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b")]
    private static partial Regex IpPattern();
}
