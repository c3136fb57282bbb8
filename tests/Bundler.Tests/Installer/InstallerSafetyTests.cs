using System.Globalization;
using Bundler.Packaging;
using Bundler.Tests.Packaging;
using Xunit;

namespace Bundler.Tests.Installer;

/// <summary>
/// The installer in the field (issue 12): what it verifies is what it installs, it never takes a host's file for its own,
/// keeps what the host or an operator put there, and one install runs at a time. Real bundles, run with --root.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class InstallerSafetyTests : IDisposable
{
    private readonly BundleFixture _fx = new();
    private readonly string _root;
    private readonly Dictionary<string, string> _env;

    public InstallerSafetyTests()
    {
        (_root, _env) = _fx.InstallerHost();
    }

    public void Dispose() => _fx.Dispose();

    private string Bundle(string node = "w1", string dir = "artifacts") => Path.Combine(_fx.Out(dir), node + ".run");

    private (int Code, string Out, string Err) Run(string bundle, params string[] args) => BundleFixture.Run("bash", [bundle, .. args], _env);

    /// <summary>The bytes the bundle would install at <paramref name="nodePath"/>.</summary>
    private byte[] Shipped(string bundle, string nodePath)
    {
        var dir = Path.Combine(_fx.Root, "shipped-" + Guid.NewGuid().ToString("N"));
        Assert.Equal(0, Run(bundle, "--extract", dir).Code);
        return File.ReadAllBytes(dir + nodePath);
    }

    [Theory]
    [InlineData("renamed over")]
    [InlineData("overwritten in place")]
    public async Task GivenABundleSwappedRightAfterItWasVerified_WhenInstalled_ThenWhatIsInstalledIsWhatWasVerified(string how)
    {
        await _fx.BuildAsync();
        _fx.ReplaceUpstream("kubelet", "/usr/bin/du");
        await _fx.BuildAsync(_fx.Out("other"));
        var bundle = Path.Combine(_fx.Root, "w1.run");
        File.Copy(Bundle(), bundle);
        // A sha256sum first on PATH that, once the payload's hash is taken (its second call), puts another bundle's
        // bytes where the verified one was: what an attacker racing the installer does.
        var bin = Path.Combine(_fx.Root, "bin");
        Directory.CreateDirectory(bin);
        var count = Path.Combine(_fx.Root, "calls");
        var swap = how == "renamed over"
            ? $"cp '{Bundle("w1", "other")}' '{bundle}.swap' && mv -f '{bundle}.swap' '{bundle}'"
            : $"dd if='{Bundle("w1", "other")}' of='{bundle}' conv=notrunc status=none";
        File.WriteAllText(Path.Combine(bin, "sha256sum"),
            $"#!/bin/bash\nout=$(/usr/bin/sha256sum \"$@\"); rc=$?\nn=$(( $(cat '{count}' 2>/dev/null || echo 0) + 1 )); echo $n > '{count}'\n" +
            $"if [ $n -eq 2 ]; then {swap}; fi\nprintf '%s\\n' \"$out\"; exit $rc\n");
        File.SetUnixFileMode(Path.Combine(bin, "sha256sum"), (UnixFileMode)0b111_101_101);
        _env["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");

        var (code, stdout, stderr) = Run(bundle, "--root", _root);

        Assert.True(File.Exists(count) && int.Parse(File.ReadAllText(count), CultureInfo.InvariantCulture) >= 2, "the swap never happened");
        Assert.True(code == 0, stdout + stderr);
        Assert.Equal(PayloadWriter.Sha256Hex("/usr/bin/sort"), PayloadWriter.Sha256Hex(_root + "/opt/k8s/bin/kubelet"));
    }

    [Fact]
    public async Task GivenAnInstallerRunning_WhenASecondStartsOnTheSameHost_ThenTheSecondExits3NamingTheFirstAndChangesNothing()
    {
        await _fx.BuildAsync();
        var started = Path.Combine(_fx.Root, "started");
        var release = Path.Combine(_fx.Root, "release");
        _env["KBUNDLE_SYSTEMCTL"] = _fx.Executable("systemctl", "#!/bin/bash\n[ \"$1\" = is-active ] && exit 3\nexit 0\n");
        // The first installer stops in its first health check until the test lets it go on; any later one goes straight on.
        _env["KBUNDLE_HEALTH_CMD"] = _fx.Executable("health", $"#!/bin/bash\nmkdir '{started}' 2>/dev/null || exit 0\nwhile [ ! -e '{release}' ]; do sleep 0.1; done\n");
        using var first = ProcessRunner.Start("bash", [Bundle(), "--root", _root], "/", _env);
        for (var i = 0; i < 600 && !Directory.Exists(started) && !first.HasExited; i++)
            await Task.Delay(100);
        Assert.True(Directory.Exists(started), "the first installer never reached its health check: " + first.OutputSoFar);
        var journal = File.ReadAllText(_root + "/var/lib/kbundle/journal");

        var (code, stdout, stderr) = Run(Bundle(), "--root", _root, "--uninstall", "--yes");
        var install = Run(Bundle(), "--root", _root);
        File.WriteAllText(release, "");
        var done = await first.WaitAsync();

        Assert.Equal(3, code);
        Assert.Contains("another kbundle installer is running on this host", stderr, StringComparison.Ordinal);
        Assert.Contains($"pid {first.Id}", stderr, StringComparison.Ordinal);
        Assert.Contains("started ", stderr, StringComparison.Ordinal);
        Assert.Equal(3, install.Code);
        Assert.Equal(journal, File.ReadAllText(_root + "/var/lib/kbundle/journal"));
        Assert.True(done.ExitCode == 0, done.StandardOutput + done.StandardError + stdout);
        Assert.Equal(0, Run(Bundle(), "--root", _root).Code);
    }

    [Fact]
    public async Task GivenAServiceTheInstallerStartedStillRunning_WhenTheInstallerRunsAgain_ThenTheLockIsFree()
    {
        await _fx.BuildAsync();
        var pids = Path.Combine(_fx.Root, "daemons");
        // A systemctl that, like the end-to-end hosts' stand-in, starts each unit as a background process of its own.
        _env["KBUNDLE_SYSTEMCTL"] = _fx.Executable("systemctl",
            $"#!/bin/bash\ncase $1 in is-active) exit 3 ;; restart) (setsid sleep 60 </dev/null >/dev/null 2>&1 & echo $! >> '{pids}') ;; esac\nexit 0\n");
        _env["KBUNDLE_HEALTH_CMD"] = _fx.Executable("health", "#!/bin/bash\nexit 0\n");
        try
        {
            var first = Run(Bundle(), "--root", _root);
            Assert.True(first.Code == 0, first.Out + first.Err);
            Assert.True(File.Exists(pids), "the stand-in started no service");

            var again = Run(Bundle(), "--root", _root);

            Assert.True(again.Code == 0, again.Out + again.Err);
            Assert.DoesNotContain("another kbundle installer", again.Err, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var pid in File.Exists(pids) ? File.ReadAllLines(pids) : [])
                await ProcessRunner.RunAsync("kill", [pid.Trim()]);
        }
    }

    [Fact]
    public async Task GivenAHostFileIdenticalToTheBundles_WhenInstalledThenUninstalled_ThenTheHostKeepsIt()
    {
        await _fx.BuildAsync();
        var crictl = Shipped(Bundle(), "/etc/crictl.yaml");
        Directory.CreateDirectory(_root + "/etc");
        File.WriteAllBytes(_root + "/etc/crictl.yaml", crictl);

        var install = Run(Bundle(), "--root", _root);
        var journal = File.ReadAllLines(_root + "/var/lib/kbundle/journal");
        var (code, stdout, stderr) = Run(Bundle(), "--root", _root, "--uninstall", "--purge", "--yes");

        Assert.True(install.Code == 0, install.Err);
        Assert.Contains("host /etc/crictl.yaml", journal);
        Assert.True(code == 0, stdout + stderr);
        Assert.Equal(crictl, File.ReadAllBytes(_root + "/etc/crictl.yaml"));
        Assert.False(File.Exists(_root + "/opt/k8s/bin/kubelet"));
    }

    [Fact]
    public async Task GivenAnUpgradeThatNoLongerShipsAFileTheFirstInstallReplaced_WhenInstalled_ThenTheHostsOriginalComesBack()
    {
        await _fx.BuildAsync();
        Directory.CreateDirectory(_root + "/etc");
        File.WriteAllText(_root + "/etc/crictl.yaml", "# the host's own\n");
        Assert.Equal(0, Run(Bundle(), "--root", _root).Code);
        Assert.NotEqual("# the host's own\n", File.ReadAllText(_root + "/etc/crictl.yaml"));
        // w1 stops being a worker: no containerd, so no crictl.yaml.
        _fx.SiteYaml = _fx.SiteYaml.Replace("ip: 10.88.0.21\n    roles: [worker]", "ip: 10.88.0.21\n    roles: [etcd]", StringComparison.Ordinal);
        await _fx.BuildAsync(_fx.Out("v2"));

        var (code, stdout, stderr) = Run(Bundle("w1", "v2"), "--root", _root);
        var uninstall = Run(Bundle("w1", "v2"), "--root", _root, "--uninstall", "--yes");

        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("restored: /etc/crictl.yaml", stdout, StringComparison.Ordinal);
        Assert.False(File.Exists(_root + "/opt/k8s/bin/kubelet"));
        Assert.True(uninstall.Code == 0, uninstall.Out + uninstall.Err);
        Assert.Equal("# the host's own\n", File.ReadAllText(_root + "/etc/crictl.yaml"));
    }

    [Fact]
    public async Task GivenALocallyEditedInstalledFile_WhenTheBundleReplacesIt_ThenTheEditIsSavedAndNamed()
    {
        await _fx.BuildAsync();
        Assert.Equal(0, Run(Bundle(), "--root", _root).Code);
        var config = _root + "/etc/kubernetes/kubelet-config.yaml";
        var shipped = File.ReadAllText(config);
        File.AppendAllText(config, "# tuned by hand on this host\n");

        var (code, stdout, stderr) = Run(Bundle(), "--root", _root);

        Assert.True(code == 0, stdout + stderr);
        Assert.Equal(shipped, File.ReadAllText(config));
        var line = stdout.Split('\n').Single(l => l.Contains("local edit", StringComparison.Ordinal));
        var copy = line[(line.LastIndexOf(" saved as ", StringComparison.Ordinal) + " saved as ".Length)..].Trim();
        Assert.StartsWith("/var/lib/kbundle/", copy, StringComparison.Ordinal);
        Assert.Equal(shipped + "# tuned by hand on this host\n", File.ReadAllText(_root + copy));
        Assert.Contains("/etc/kubernetes/kubelet-config.yaml", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAFolderWhereTheBundleInstallsAFile_WhenInstalled_ThenItFailsRollsBackAndSaysWhy()
    {
        await _fx.BuildAsync();
        Directory.CreateDirectory(_root + "/etc/crictl.yaml");

        var (code, stdout, stderr) = Run(Bundle(), "--root", _root);

        Assert.True(code == 1, stdout + stderr);
        Assert.Contains("/etc/crictl.yaml is a folder", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("done:", stdout, StringComparison.Ordinal);
        Assert.True(Directory.Exists(_root + "/etc/crictl.yaml"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root + "/etc/crictl.yaml"));
        Assert.False(File.Exists(_root + "/opt/k8s/bin/kubelet"));
        Assert.False(File.Exists(_root + "/var/lib/kbundle/journal"));
    }

    [Fact]
    public async Task GivenANewerBuildInstalled_WhenAnOlderBundleIsInstalled_ThenItRefusesWithExit3UnlessAllowed()
    {
        await _fx.BuildAsync();
        _fx.ReplaceUpstream("kubelet", "/usr/bin/du");
        await _fx.BuildAsync(_fx.Out("v2"));
        Assert.Equal(0, Run(Bundle("w1", "v2"), "--root", _root).Code);
        var journal = File.ReadAllLines(_root + "/var/lib/kbundle/journal");

        var (code, stdout, stderr) = Run(Bundle(), "--root", _root);
        var dry = Run(Bundle(), "--root", _root, "--dry-run");
        var forced = Run(Bundle(), "--root", _root, "--allow-downgrade");

        Assert.Contains("serial 2", journal);
        Assert.True(code == 3, stdout + stderr);
        Assert.Contains("this bundle is build 1 of site lab; this host has build 2 installed", stderr, StringComparison.Ordinal);
        Assert.Contains("--allow-downgrade", stderr, StringComparison.Ordinal);
        Assert.Equal(3, dry.Code);
        Assert.True(forced.Code == 0, forced.Out + forced.Err);
        Assert.Equal(PayloadWriter.Sha256Hex("/usr/bin/sort"), PayloadWriter.Sha256Hex(_root + "/opt/k8s/bin/kubelet"));
        Assert.Contains("serial 1", File.ReadAllLines(_root + "/var/lib/kbundle/journal"));
    }
}
