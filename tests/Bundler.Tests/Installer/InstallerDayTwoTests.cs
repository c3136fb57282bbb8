using Bundler.Packaging;
using Bundler.Tests.Packaging;

namespace Bundler.Tests.Installer;

/// <summary>
/// The installer's day two (SPEC §8) on real bundles with --root and a recording systemctl: --hold keeps a running unit as
/// it is until a later run, and a failed upgrade's rollback starts again what ran before it. (Joining, removing and
/// restoring etcd members need a running cluster: the end-to-end DayTwoTests prove them on real etcd.)
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class InstallerDayTwoTests : IDisposable
{
    private readonly BundleFixture _fx = new();
    private readonly string _root;
    private readonly string _calls;
    private readonly Dictionary<string, string> _env;

    public InstallerDayTwoTests()
    {
        (_root, _env) = _fx.InstallerHost();
        _calls = Path.Combine(_fx.Root, "systemctl.log");
        // Every unit is running, as on a node in service; each call is recorded.
        _env["KBUNDLE_SYSTEMCTL"] = _fx.Executable("systemctl", $"#!/bin/bash\necho \"$*\" >> {_calls}\nexit 0\n");
        _env["KBUNDLE_HEALTH_CMD"] = "/bin/true";
        _env["KBUNDLE_HEALTH_TIMEOUT"] = "0";
    }

    public void Dispose() => _fx.Dispose();

    private (int Code, string Out, string Err) Run(string dir, params string[] args) =>
        BundleFixture.Run("bash", [Path.Combine(_fx.Out(dir), "m1.run"), "--root", _root, .. args], _env);

    /// <summary>The systemctl calls since the last look, and forget them.</summary>
    private List<string> Calls()
    {
        var calls = File.Exists(_calls) ? File.ReadAllLines(_calls).ToList() : [];
        File.Delete(_calls);
        return calls;
    }

    private async Task UpgradedKubeletAsync()
    {
        await _fx.BuildAsync();
        Assert.Equal(0, Run("artifacts").Code);
        _fx.ReplaceUpstream("kubelet", "/usr/bin/du");
        await _fx.BuildAsync(_fx.Out("v2"));
        Calls();
    }

    [Fact]
    public async Task GivenANewKubelet_WhenInstalledWithHold_ThenTheRunningKubeletIsNotRestartedUntilTheBundleRunsAgainWithoutHold()
    {
        await UpgradedKubeletAsync();

        var dry = Run("v2", "--dry-run", "--hold", "kubelet,kube-proxy");
        var held = Run("v2", "--hold", "kubelet,kube-proxy");
        var heldCalls = Calls();
        var heldFile = File.ReadAllText(_root + "/var/lib/kbundle/held").Trim();
        var release = Run("v2");
        var releaseCalls = Calls();
        var again = Run("v2");

        Assert.Contains("unit     kubelet: held (--hold): keeps running, restarted by a run without --hold", dry.Out, StringComparison.Ordinal);
        Assert.True(held.Code == 0, held.Out + held.Err);
        Assert.Contains("held: kubelet keeps running as it is (--hold)", held.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(heldCalls, c => c.StartsWith("restart", StringComparison.Ordinal));
        Assert.Equal(PayloadWriter.Sha256Hex("/usr/bin/du"), PayloadWriter.Sha256Hex(_root + "/opt/k8s/bin/kubelet"));
        Assert.Equal("kubelet", heldFile);
        Assert.True(release.Code == 0, release.Out + release.Err);
        Assert.Contains("done: 0 changes", release.Out, StringComparison.Ordinal);
        Assert.Equal(["restart kubelet"], releaseCalls.Where(c => c.StartsWith("restart", StringComparison.Ordinal)));
        Assert.False(File.Exists(_root + "/var/lib/kbundle/held"));
        Assert.DoesNotContain("starting", again.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAUnitTheNodeDoesNotRun_WhenHeld_ThenTheInstallerRefusesWithExit2()
    {
        await _fx.BuildAsync();

        var (code, _, stderr) = Run("artifacts", "--hold", "kubelet,kube-schedular");

        Assert.Equal(2, code);
        Assert.Contains("--hold kube-schedular: this node runs no such unit; its units: containerd etcd kube-apiserver", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAnUpgradeWhoseKubeletFailsItsHealthCheck_WhenRolledBack_ThenTheRunningKubeletIsStartedAgainFromItsPreviousFiles()
    {
        await UpgradedKubeletAsync();
        var before = PayloadWriter.Sha256Hex(_root + "/opt/k8s/bin/kubelet");
        // The new kubelet is unhealthy (a health check tries twice before it waits); the one the rollback starts again is healthy.
        var count = Path.Combine(_fx.Root, "kubelet-checks");
        _env["KBUNDLE_HEALTH_CMD"] = _fx.Executable("health", $"#!/bin/bash\n[ \"$1\" != kubelet ] && exit 0\necho x >> {count}\n[ $(wc -l < {count}) -gt 2 ]\n");

        var (code, stdout, stderr) = Run("v2");
        var calls = Calls();

        Assert.True(code == 1, stdout + stderr);
        Assert.Contains("install failed: health check of kubelet failed", stdout, StringComparison.Ordinal);
        Assert.Contains("rollback: kubelet runs again from its previous files and is healthy", stdout, StringComparison.Ordinal);
        Assert.Equal(before, PayloadWriter.Sha256Hex(_root + "/opt/k8s/bin/kubelet"));
        var restarts = calls.Select((c, i) => (c, i)).Where(x => x.c == "restart kubelet").Select(x => x.i).ToList();
        var stop = calls.IndexOf("stop kubelet");
        Assert.True(restarts.Count == 2 && restarts[0] < stop && stop < restarts[1], "restart, stop, then restart again:\n" + string.Join("\n", calls));
    }
}
