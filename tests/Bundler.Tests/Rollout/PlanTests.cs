using System.Text.Json;
using Bundler.Tests.Cli;
using Bundler.Tests.Packaging;

namespace Bundler.Tests.Rollout;

/// <summary>
/// <c>kbundle plan</c> (SPEC §8) against a real build of the packaging fixture's site (m1 etcd+master, w1, w2): what a
/// build would change per node, the units each change restarts, the rollout order; and that it writes neither the state
/// nor the output folder. kube-nginx is a cache hit (the fixture's stand-in), but the nginx step still looks for cc and make.
/// </summary>
public sealed class PlanTests : IDisposable
{
    private readonly BundleFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private async Task<string[]> BuiltAsync()
    {
        string[] build = [.. await _fx.CommandLineAsync()];
        var result = CliRunner.Run(build);
        Assert.True(result.ExitCode == 0, result.All);
        return build;
    }

    private static string[] Plan(string[] build, params string[] more) => ["plan", .. build.Skip(1), .. more];

    private static JsonElement Node(JsonElement plan, string name) =>
        plan.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("node").GetString() == name);

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    /// <summary>Every file of the state and output folders with its bytes' hash and its modification time.</summary>
    private Dictionary<string, string> Folders() =>
        new[] { _fx.State, _fx.Out() }.SelectMany(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories))
            .ToDictionary(f => f, f => BundleFixture.Sha256(File.ReadAllBytes(f)) + " " + File.GetLastWriteTimeUtc(f).Ticks);

    [ToolFact("cc", "make")]
    public async Task GivenABuiltSite_WhenNothingChangedAndItIsPlanned_ThenEveryBundleIsUnchangedNothingRollsOutAndNothingIsWritten()
    {
        var build = await BuiltAsync();
        var before = Folders();

        var plan = CliRunner.Run(Plan(build));

        Assert.True(plan.ExitCode == 0, plan.All);
        foreach (var node in new[] { "m1", "w1", "w2" })
            Assert.Matches($@"(?m)^  {node}\.run +unchanged", plan.Out);
        Assert.Contains("nothing to roll out: every bundle installs what runs now", plan.Out, StringComparison.Ordinal);
        Assert.Equal(before, Folders());
    }

    [ToolFact("cc", "make")]
    public async Task GivenANewKubeletRelease_WhenPlanned_ThenEveryNodeWithAKubeletChangesRestartingOnlyItInTheRolloutOrder()
    {
        var build = await BuiltAsync();
        _fx.ReplaceUpstream("kubelet", "/usr/bin/du");
        var before = Folders();

        var result = CliRunner.Run(Plan(build, "--json", "--batch", "1"));

        Assert.True(result.ExitCode == 0, result.All);
        var plan = JsonDocument.Parse(result.Out).RootElement.GetProperty("plan");
        foreach (var node in new[] { "m1", "w1", "w2" })
        {
            Assert.Equal("changed", Node(plan, node).GetProperty("change").GetString());
            Assert.Equal(["/opt/k8s/bin/kubelet"], Strings(Node(plan, node).GetProperty("changedFiles")));
            Assert.Equal(["kubelet"], Strings(Node(plan, node).GetProperty("restarts")));
        }
        var steps = plan.GetProperty("steps").EnumerateArray().ToList();
        Assert.Equal(["etcd members, one at a time", "workers, in batches of 1"], steps.Select(s => s.GetProperty("title").GetString()));
        Assert.Equal([["m1"], ["w1"], ["w2"]], steps.SelectMany(s => s.GetProperty("batches").EnumerateArray())
            .Select(b => b.EnumerateArray().Select(r => r.GetProperty("node").GetString()).ToArray()));
        Assert.Equal("sudo ./w1.run", steps[1].GetProperty("batches")[0][0].GetProperty("command").GetString());
        // The lock change is the only change: nothing was written (the new kubelet went to the cache only).
        Assert.Equal(before, Folders());
    }

    [ToolFact("cc", "make")]
    public async Task GivenAWorkerReplacedByAnother_WhenPlannedAndBuilt_ThenTheNewOneIsNewTheOldOneRemovedAndTheBuildPrintsTheSamePlan()
    {
        var build = await BuiltAsync();
        _fx.SiteYaml = _fx.SiteYaml.Replace("  - name: w2\n    ip: 10.88.0.22\n    roles: [worker]", "  - name: w3\n    ip: 10.88.0.23\n    roles: [worker]", StringComparison.Ordinal);
        File.WriteAllText(_fx.SitePath, _fx.SiteYaml);

        var plan = CliRunner.Run(Plan(build));
        var built = CliRunner.Run(build);

        Assert.True(plan.ExitCode == 0, plan.All);
        Assert.Matches(@"(?m)^  w3\.run +new +\d+ files, starts containerd, kube-nginx, kbundle-images, kubelet, kube-proxy, kbundle-cert-check\.timer$", plan.Out);
        Assert.Matches(@"(?m)^  w2\.run +removed", plan.Out);
        // Another node's pod route and /etc/hosts line change: files that restart nothing.
        Assert.Matches(@"(?m)^  w1\.run +changed +1 changed \(/etc/kubernetes/pod-routes\.conf\); restarts nothing$", plan.Out);
        Assert.Contains("   w2.run  sudo ./w2.run --uninstall --purge --yes", plan.Out, StringComparison.Ordinal);
        Assert.True(built.ExitCode == 0, built.All);
        var printed = built.Out[built.Out.IndexOf("Day two:", StringComparison.Ordinal)..];
        Assert.Contains(plan.Out[plan.Out.IndexOf("Rollout", StringComparison.Ordinal)..], printed, StringComparison.Ordinal);
        Assert.DoesNotContain("Install order", built.Out, StringComparison.Ordinal);
    }

    [ToolFact("cc", "make")]
    public async Task GivenLeafCertificatesWithin30DaysOfTheirEnd_WhenPlanned_ThenTheyAreRenewedAndOnlyTheUnitsThatUseThemRestart()
    {
        // Issued 340 days ago: every leaf (365 days) ends in 25 days, inside the renewal window; the CAs are years away.
        await _fx.BuildAsync(now: DateTimeOffset.UtcNow.AddDays(-340));
        string[] build = [.. await _fx.CommandLineAsync()];

        var result = CliRunner.Run(Plan(build, "--json"));

        Assert.True(result.ExitCode == 0, result.All);
        var plan = JsonDocument.Parse(result.Out).RootElement.GetProperty("plan");
        string[] noCertificate = ["containerd", "kube-nginx", "kbundle-images"];
        foreach (var (node, uses) in new[] { ("w1", new[] { "kubelet", "kube-proxy" }), ("m1", ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"]) })
        {
            var record = Node(plan, node);
            var restarts = Strings(record.GetProperty("restarts"));
            Assert.Equal("changed", record.GetProperty("change").GetString());
            Assert.All(uses, u => Assert.Contains(u, restarts));
            Assert.All(noCertificate, u => Assert.DoesNotContain(u, restarts));
            // What changed holds certificates (certificates, kubeconfigs, the node's certificate table), never a binary.
            Assert.All(Strings(record.GetProperty("changedFiles")), f => Assert.DoesNotContain("/bin/", f, StringComparison.Ordinal));
        }
    }
}
