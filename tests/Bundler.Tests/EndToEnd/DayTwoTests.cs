using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Bundler.Tests.Cli;
using Xunit.Abstractions;

namespace Bundler.Tests.EndToEnd;

/// <summary>
/// Day two on a running site (SPEC §8), proven with real etcd on simulated hosts (harness as ClusterTests): three etcd
/// members and one master, built and installed; then, each from a rebuilt site and following <c>kbundle plan</c>'s
/// order, a fourth member joins while the cluster serves and leaves again; the members are upgraded one at a time from
/// bookworm's etcd 3.4.23 to sid's 3.5.30 while a writer keeps writing through the others; a bundle whose etcd cannot
/// start is rolled back; a snapshot taken by the backup timer's command restores all three members. TEST STAND-INS
/// only for the Kubernetes binaries (ClusterTests says which).
/// </summary>
public sealed class DayTwoTests(ITestOutputHelper output)
{
    private static readonly Dictionary<string, string> Nodes = new()
    {
        ["e1"] = "10.99.1.11", ["e2"] = "10.99.1.12", ["e3"] = "10.99.1.13", ["m1"] = "10.99.1.21", ["e4"] = "10.99.1.14",
    };

    private static readonly string[] Members = ["e1", "e2", "e3"];

    private const string SandboxSkips = "cgroup2,modules";

    /// <summary>The site: three etcd members and a master (a site needs one); <paramref name="grown"/> adds e4 at the end (the nodes that stay keep their pod /24).</summary>
    private static string Site(bool grown = false, bool shrunkTooFar = false) => $$"""
        name: daytwo
        kubernetes: 1.36.0
        pki:
          keyAlgorithm: ecdsa-p256
        etcdBackup: { schedule: daily, keep: 2 }
        nodes:
          - {name: e1, ip: 10.99.1.11, roles: [etcd]}
        {{(shrunkTooFar ? "" : "  - {name: e2, ip: 10.99.1.12, roles: [etcd]}\n  - {name: e3, ip: 10.99.1.13, roles: [etcd]}\n")}}  - {name: m1, ip: 10.99.1.21, roles: [master]}
        {{(grown ? "  - {name: e4, ip: 10.99.1.14, roles: [etcd]}\n" : "")}}
        """;

    [EndToEndFact]
    public void GivenARunningSite_WhenGrownShrunkUpgradedBrokenAndRestoredByItsBundles_ThenEtcdServesThroughoutAndKeepsEveryKey()
    {
        Assert.True(SimulatedHosts.WhyNotSupported() is null, $"END-TO-END TEST CANNOT RUN: {SimulatedHosts.WhyNotSupported()}");
        var nginxSource = Environment.GetEnvironmentVariable("KBUNDLE_NGINX_TEST_SOURCE");
        Assert.True(File.Exists(nginxSource), "KBUNDLE_NGINX_TEST_SOURCE must name nginx_1.22.1.orig.tar.gz (.ci/run sets it)");
        var clock = Stopwatch.StartNew();
        using var work = new TempDir("kbundle-daytwo");
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        var standIns = Path.Combine(TestPaths.Repository, "tests", "Bundler.StandIns", "bin", configuration, "net10.0", "Bundler.StandIns.dll");
        Assert.True(File.Exists(standIns), $"{standIns} is not built");
        var artifacts = TestArtifacts.Build(work.Path, standIns, TestPaths.TestData("Reference"), nginxSource!);
        var lock34 = artifacts.LockFile;
        var lock35 = TestArtifacts.WithEtcd35(artifacts, work.File("test-lock-etcd35.yaml"));
        using var mirror = new LoopbackFileServer(artifacts.MirrorDir);
        var site = work.File("site.yaml");
        var outDir = work.File("out");
        var cache = Path.Combine(TestPaths.Repository, ".cache", "e2e-cache");
        string[] Folders(string pins) => ["--pins", pins, "--mirror", mirror.Url, "--mirror", artifacts.ImagesDir, "--cache", cache, "--state", work.File("state"), "--out", outDir];
        CliRunner.Result Kbundle(string command, string siteText, string pins, params string[] more)
        {
            File.WriteAllText(site, siteText);
            var result = CliRunner.RunProcess(TestPaths.Repository, null, [command, site, .. Folders(pins), .. more]);
            output.WriteLine($"--- kbundle {command} {string.Join(' ', more)} (exit {result.ExitCode})\n{result.All}");
            return result;
        }
        void Build(string siteText, string pins, params string[] more)
        {
            var build = Kbundle("build", siteText, pins, more);
            Assert.True(build.ExitCode == 0, $"build failed:\n{build.All}");
        }
        // The rollout as kbundle plan --json lays it out, made before the build it plans.
        JsonElement Plan(string siteText, string pins)
        {
            var plan = Kbundle("plan", siteText, pins, "--json");
            Assert.True(plan.ExitCode == 0, $"plan failed:\n{plan.All}");
            return JsonDocument.Parse(plan.Out).RootElement.GetProperty("plan").Clone();
        }

        // Given: a site built from the lock with bookworm's etcd 3.4.23, its three members installed together, then the master.
        Build(Site(), lock34);
        using var hosts = new SimulatedHosts(work.File("hosts"), Nodes);
        Install(hosts, outDir, Members);
        Install(hosts, outDir, ["m1"]);
        Assert.Equal(3, Healthy(hosts, "e1", Members));
        for (var i = 1; i <= 20; i++)
            Assert.Equal(0, Etcdctl(hosts, "e1", Endpoints(Members), "put", $"/e2e/before/{i:D2}", $"value-{i}").ExitCode);
        // The timers are on: the backup on every member, the certificate check on every node (its service logs to the journal).
        foreach (var (node, timer) in new[] { ("e1", "kbundle-etcd-backup.timer"), ("e1", "kbundle-cert-check.timer"), ("m1", "kbundle-cert-check.timer") })
            Assert.True(hosts.Exec(node, "systemctl", "is-active", "--quiet", timer).ExitCode == 0, $"{node}: {timer} is not active");
        Assert.Equal(0, hosts.Exec("m1", "systemctl", "start", "kbundle-cert-check.service").ExitCode);
        Assert.Contains("no certificate of m1 expires within 30 days", hosts.Exec("m1", "journalctl", "-u", "kbundle-cert-check").Output, StringComparison.Ordinal);
        output.WriteLine($"=== installed in {clock.Elapsed.TotalSeconds:0} s");

        // When: e4 joins as a fourth member, following the plan made before the build.
        var grow = Plan(Site(grown: true), lock34);
        Assert.Equal("new", Node(grow, "e4").GetProperty("change").GetString());
        Assert.Contains("joins the running etcd cluster", Node(grow, "e4").GetProperty("notes")[0].GetString(), StringComparison.Ordinal);
        Assert.Empty(Node(grow, "e1").GetProperty("restarts").EnumerateArray());   // its membership file restarts nothing
        Assert.Equal(["kube-apiserver"], Node(grow, "m1").GetProperty("restarts").EnumerateArray().Select(u => u.GetString()));
        Build(Site(grown: true), lock34);
        var grownBundles = work.File("out-grown");
        CopyFolder(outDir, grownBundles);
        var grownRuns = RollOut(hosts, outDir, grow);
        Assert.Equal(["e1", "e2", "e3", "e4", "m1"], grownRuns.Select(r => r.Node));
        Assert.Contains("etcd: added e4 (https://10.99.1.14:2380) to the running cluster", grownRuns.Single(r => r.Node == "e4").Output, StringComparison.Ordinal);
        Assert.All(grownRuns.Where(r => r.Node != "e4"), r => Assert.DoesNotContain("starting etcd", r.Output, StringComparison.Ordinal));

        // Then: 4 of 4 healthy, the keys written before readable through the new member.
        string[] four = [.. Members, "e4"];
        Assert.Equal(4, Healthy(hosts, "e4", four));
        Assert.Equal(20, Keys(hosts, "e4", "/e2e/before/"));

        // When: back to three; the plan names e4 removed and e1 as the member that removes it.
        var refused = Kbundle("plan", Site(shrunkTooFar: true), lock34);
        Assert.True(refused.ExitCode == 2 && refused.All.Contains("fewer than the quorum", StringComparison.Ordinal), $"removing 3 of 4 members must be refused:\n{refused.All}");
        var shrink = Plan(Site(), lock34);
        Assert.Equal("removed", Node(shrink, "e4").GetProperty("change").GetString());
        Build(Site(), lock34);
        Assert.True(Directory.EnumerateDirectories(work.File("state", "retired")).Any(d => Directory.Exists(Path.Combine(d, "nodes", "e4"))),
            "e4 certificates did not move to the state folder's retired/");
        Assert.False(Directory.Exists(work.File("state", "nodes", "e4")), "e4's certificates are still in state/daytwo/nodes/");
        var shrunkRuns = RollOut(hosts, outDir, shrink, previousBundles: grownBundles);
        Assert.Contains("etcd: removed e4 (https://10.99.1.14:2380", shrunkRuns.Single(r => r.Node == "e1").Output, StringComparison.Ordinal);
        Assert.Contains("etcd: e4 is not a member (removed before)", shrunkRuns.Single(r => r.Node == "e2").Output, StringComparison.Ordinal);
        Assert.Equal(["e1", "e2", "e3", "m1", "e4"], shrunkRuns.Select(r => r.Node));

        // Then: 3 of 3, the data kept.
        Assert.Equal(3, Healthy(hosts, "e2", Members));
        Assert.Equal(20, Keys(hosts, "e3", "/e2e/before/"));
        output.WriteLine($"=== grown and shrunk at {clock.Elapsed.TotalSeconds:0} s");

        // When: the lock moves to etcd 3.5.30; the members are upgraded one at a time, as planned, while a writer on m1
        // writes through all three (the etcd client fails over to the others while one restarts).
        var upgrade = Plan(Site(), lock35);
        Assert.Equal(["e1", "e2", "e3"], upgrade.GetProperty("steps").EnumerateArray().SelectMany(s => s.GetProperty("batches").EnumerateArray())
            .SelectMany(b => b.EnumerateArray()).Select(r => r.GetProperty("node").GetString()));
        Assert.Equal(["etcd"], Node(upgrade, "e1").GetProperty("restarts").EnumerateArray().Select(u => u.GetString()));
        Build(Site(), lock35);
        var writerLog = work.File("writer.log");
        var stopWriter = work.File("stop-writer");
        var writer = Task.Run(() => hosts.Exec("m1", TimeSpan.FromMinutes(20), "bash", "-c", WriterScript(writerLog, stopWriter)));
        Thread.Sleep(2000);
        var upgradeRuns = RollOut(hosts, outDir, upgrade);
        Thread.Sleep(2000);
        File.WriteAllText(stopWriter, "");
        Assert.Equal(0, writer.GetAwaiter().GetResult().ExitCode);

        // Then: no write failed for longer than one member's restart, every key written is there, every member runs 3.5.30.
        var writes = File.ReadAllLines(writerLog).Select(l => l.Split(' ')).Select(p => (Time: double.Parse(p[0], CultureInfo.InvariantCulture), Key: p[1], Ok: p[2] == "ok")).ToList();
        var longestRestart = upgradeRuns.Max(r => r.Seconds);
        var gap = LongestFailure(writes);
        output.WriteLine($"=== rolling upgrade: {writes.Count} writes, {writes.Count(w => !w.Ok)} failed, longest failing stretch {gap:0.00} s, " +
                         $"member upgrades took {string.Join(", ", upgradeRuns.Select(r => $"{r.Node} {r.Seconds:0.0} s"))}");
        Assert.True(writes.Count(w => w.Ok) > 50, $"the writer wrote too little to prove anything: {writes.Count(w => w.Ok)} writes");
        Assert.True(gap < longestRestart, $"writes failed for {gap:0.00} s, longer than one member's upgrade ({longestRestart:0.0} s)");
        var stored = Etcdctl(hosts, "e2", Endpoints(Members), "get", "/e2e/writer/", "--prefix", "--keys-only").Output
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        Assert.All(writes.Where(w => w.Ok), w => Assert.Contains($"/e2e/writer/{w.Key}", stored));
        foreach (var m in Members)
        {
            var status = Etcdctl(hosts, m, $"--endpoints=https://{Nodes[m]}:2379", "endpoint", "status", "--write-out=json");
            Assert.True(status.Output.Contains("\"version\":\"3.5.30\"", StringComparison.Ordinal), $"{m} does not run etcd 3.5.30:\n{status.Output}");
        }
        Assert.Contains(Members, m => Regex.IsMatch(hosts.Exec(m, "cat", "/run/kbe-systemd/logs/etcd.service").Output, "cluster version.*\"3\\.5"));
        Assert.Equal(20, Keys(hosts, "e1", "/e2e/before/"));
        output.WriteLine($"=== upgraded at {clock.Elapsed.TotalSeconds:0} s");

        // When: a newer bundle whose etcd cannot start (an overlay gives it a flag etcd does not know) is installed on e1.
        var goodBundles = work.File("out-35");
        CopyFolder(outDir, goodBundles);
        var overlay = work.File("broken-templates");
        Directory.CreateDirectory(Path.Combine(overlay, "units"));
        var unit = File.ReadAllText(Path.Combine(TestPaths.Repository, "bundle-templates", "units", "etcd.service.sbn"));
        File.WriteAllText(Path.Combine(overlay, "units", "etcd.service.sbn"),
            unit.Replace("ExecStart={{paths.binDir}}/etcd \\\n", "ExecStart={{paths.binDir}}/etcd \\\n  --kbundle-e2e-no-such-flag \\\n", StringComparison.Ordinal));
        Build(Site(), lock35, "--templates", overlay);
        var broken = RunInstaller(hosts, outDir, "e1");
        output.WriteLine($"--- broken bundle on e1 (exit {broken.ExitCode})\n{broken.Output}");

        // Then: it fails, is rolled back, and e1 runs its previous etcd again: the cluster stays healthy.
        Assert.True(broken.ExitCode == 1, $"a bundle whose etcd cannot start must fail:\n{broken.Output}");
        Assert.Contains("rollback: etcd runs again from its previous files and is healthy", broken.Output, StringComparison.Ordinal);
        var previousUnit = Bundler.Packaging.BundleManifest.Parse(File.ReadAllBytes(Path.Combine(goodBundles, "manifest.json")), "manifest.json")
            .Nodes.Single(n => n.Name == "e1").Files.Single(f => f.Path == "/etc/systemd/system/etcd.service").Sha256;
        Assert.Equal(previousUnit, hosts.Exec("e1", "sha256sum", "/etc/systemd/system/etcd.service").Output.Split(' ')[0]);
        Assert.Equal(3, Healthy(hosts, "e1", Members));
        output.WriteLine($"=== forced failure rolled back at {clock.Elapsed.TotalSeconds:0} s");

        // When: keys are written, the backup timer's command takes snapshots (it keeps the newest 2), the keys are deleted,
        // and every member is restored from the newest snapshot.
        for (var i = 1; i <= 10; i++)
            Assert.Equal(0, Etcdctl(hosts, "e1", Endpoints(Members), "put", $"/e2e/backup/{i:D2}", $"kept-{i}").ExitCode);
        for (var i = 0; i < 3; i++)
        {
            var backup = hosts.Exec("e1", "systemctl", "start", "kbundle-etcd-backup.service");
            Assert.True(backup.ExitCode == 0, $"the backup service failed:\n{backup.Output}\n{hosts.Exec("e1", "journalctl", "-u", "kbundle-etcd-backup").Output}");
            Thread.Sleep(1100);   // snapshots are named by the second
        }
        var snapshots = hosts.Exec("e1", "find", "/var/lib/kbundle/etcd-backups", "-name", "*.db").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order().ToList();
        Assert.Equal(2, snapshots.Count);
        Assert.Equal("700", hosts.Exec("e1", "stat", "-c", "%a", "/var/lib/kbundle/etcd-backups").Output.Trim());
        var snapshot = work.File("snapshot.db");
        Assert.Equal(0, hosts.Exec("e1", "cp", snapshots[^1], snapshot).ExitCode);
        Assert.Equal(0, Etcdctl(hosts, "e1", Endpoints(Members), "del", "/e2e/", "--prefix").ExitCode);
        Assert.Equal(0, Keys(hosts, "e1", "/e2e/"));
        // As on a site, the members are restored a few seconds apart, not at one instant: the first restored member meets
        // members that still run the old data, and must not take it from them.
        var restores = new Dictionary<string, Task<Shell.Result>>();
        foreach (var m in Members)
        {
            restores[m] = Task.Run(() => hosts.Exec(m, TimeSpan.FromMinutes(5), "bash", Path.Combine(goodBundles, $"{m}.run"), "--etcd-restore", snapshot, "--yes"));
            Thread.Sleep(TimeSpan.FromSeconds(6));
        }
        foreach (var (m, run) in restores)
        {
            var result = run.GetAwaiter().GetResult();
            output.WriteLine($"--- {m}.run --etcd-restore (exit {result.ExitCode})\n{result.Output}");
            Assert.True(result.ExitCode == 0, $"{m}: --etcd-restore failed:\n{result.Output}\n--- its etcd log:\n{hosts.Exec(m, "tail", "-n", "40", "/run/kbe-systemd/logs/etcd.service").Output}");
            Assert.Contains($"etcd: {m} restored from {snapshot} and healthy", result.Output, StringComparison.Ordinal);
        }

        // Then: the keys are back, on a healthy cluster the apiserver reads and writes through again.
        Assert.Equal(3, Healthy(hosts, "e3", Members));
        Assert.Equal(10, Keys(hosts, "e2", "/e2e/backup/"));
        Assert.Equal(20, Keys(hosts, "e2", "/e2e/before/"));
        var ready = hosts.Exec("m1", "/opt/k8s/bin/kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "get", "--raw", "/readyz");
        Assert.True(ready.ExitCode == 0 && ready.Output.Trim() == "ok", $"m1's apiserver after the restore:\n{ready.Output}");
        output.WriteLine($"=== day two done in {clock.Elapsed.TotalSeconds:0} s");
    }

    /// <summary>One run of a bundle during a rollout: which node, what it printed, how long it took.</summary>
    private sealed record Run(string Node, string Output, double Seconds);

    /// <summary>
    /// Runs the plan's steps in order, each batch's runs together and the next batch once they ended, with the arguments
    /// the plan gives; nodes the site no longer has run their bundle from <paramref name="previousBundles"/>.
    /// </summary>
    private List<Run> RollOut(SimulatedHosts hosts, string outDir, JsonElement plan, string? previousBundles = null)
    {
        var runs = new List<Run>();
        foreach (var step in plan.GetProperty("steps").EnumerateArray())
        {
            foreach (var batch in step.GetProperty("batches").EnumerateArray())
            {
                var started = batch.EnumerateArray().Select(r =>
                {
                    var node = r.GetProperty("node").GetString()!;
                    var arguments = r.GetProperty("arguments").EnumerateArray().Select(a => a.GetString()!).ToArray();
                    var removed = arguments.Contains("--uninstall");
                    var bundle = Path.Combine(removed ? previousBundles! : outDir, r.GetProperty("file").GetString()!);
                    return (Node: node, Task: Task.Run(() =>
                    {
                        var watch = Stopwatch.StartNew();
                        var result = hosts.Exec(node, TimeSpan.FromMinutes(8), ["bash", bundle, .. arguments, .. removed ? Array.Empty<string>() : ["--yes", "--skip-preflight", SandboxSkips]]);
                        return (Result: result, watch.Elapsed.TotalSeconds);
                    }));
                }).ToList();
                foreach (var (node, task) in started)
                {
                    var (result, seconds) = task.GetAwaiter().GetResult();
                    output.WriteLine($"--- {step.GetProperty("title").GetString()}: {node} (exit {result.ExitCode}, {seconds:0.0} s)\n{result.Output}");
                    Assert.True(result.ExitCode == 0, $"{node}'s bundle exited {result.ExitCode}:\n{result.Output}");
                    runs.Add(new Run(node, result.Output, seconds));
                }
            }
        }
        return runs;
    }

    /// <summary>Writes /e2e/writer/N (N = 1, 2, ...) through every member until the stop file appears; one line per write: time, N, ok|fail.</summary>
    private static string WriterScript(string log, string stop) => $"""
        n=0
        while [ ! -e '{stop}' ]; do
          n=$((n + 1))
          if ETCDCTL_API=3 /usr/bin/etcdctl {Endpoints(Members)} --cacert=/etc/kubernetes/pki/etcd/ca.crt \
              --cert=/etc/kubernetes/pki/apiserver-etcd-client.crt --key=/etc/kubernetes/pki/apiserver-etcd-client.key \
              --dial-timeout=2s --command-timeout=3s put /e2e/writer/$n $n >/dev/null 2>&1; then r=ok; else r=fail; fi
          echo "$(date +%s.%N) $n $r" >> '{log}'
          sleep 0.05
        done
        """;

    /// <summary>The longest stretch, in seconds, from the last good write before a failure to the next good write (0 when none failed).</summary>
    private static double LongestFailure(List<(double Time, string Key, bool Ok)> writes)
    {
        var longest = 0.0;
        double? lastOk = null;
        var failing = false;
        foreach (var w in writes)
        {
            if (!w.Ok)
                failing = true;
            else
            {
                if (failing && lastOk is { } since)
                    longest = Math.Max(longest, w.Time - since);
                failing = false;
                lastOk = w.Time;
            }
        }
        return longest;
    }

    private static JsonElement Node(JsonElement plan, string name) =>
        plan.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("node").GetString() == name);

    private static string Endpoints(IEnumerable<string> members) => "--endpoints=" + string.Join(',', members.Select(m => $"https://{Nodes[m]}:2379"));

    private static int Healthy(SimulatedHosts hosts, string node, string[] members)
    {
        var health = Etcdctl(hosts, node, Endpoints(members), "endpoint", "health", "--cluster");
        Assert.True(health.ExitCode == 0, $"{node}: etcd cluster health:\n{health.Output}");
        return Regex.Matches(health.Output, "is healthy").Count;
    }

    private static int Keys(SimulatedHosts hosts, string node, string prefix)
    {
        var get = Etcdctl(hosts, node, $"--endpoints=https://{Nodes[node]}:2379", "get", prefix, "--prefix", "--keys-only");
        Assert.True(get.ExitCode == 0, $"{node}: etcdctl get {prefix}:\n{get.Output}");
        return get.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
    }

    private void Install(SimulatedHosts hosts, string outDir, string[] nodes)
    {
        var runs = nodes.ToDictionary(n => n, n => Task.Run(() => RunInstaller(hosts, outDir, n)));
        foreach (var (node, run) in runs)
        {
            var result = run.GetAwaiter().GetResult();
            output.WriteLine($"--- installer on {node} (exit {result.ExitCode})\n{result.Output}");
            Assert.True(result.ExitCode == 0, $"installer on {node} exited {result.ExitCode}:\n{result.Output}");
        }
    }

    private static Shell.Result RunInstaller(SimulatedHosts hosts, string outDir, string node) =>
        hosts.Exec(node, TimeSpan.FromMinutes(8), "bash", Path.Combine(outDir, $"{node}.run"), "--yes", "--skip-preflight", SandboxSkips);

    /// <summary>The node's own etcdctl with the health-check client certificate every member holds.</summary>
    private static Shell.Result Etcdctl(SimulatedHosts hosts, string node, params string[] arguments) =>
        hosts.Exec(node, ["env", "ETCDCTL_API=3", "/opt/k8s/bin/etcdctl", "--cacert=/etc/kubernetes/pki/etcd/ca.crt",
            "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt", "--key=/etc/kubernetes/pki/etcd/healthcheck-client.key", .. arguments]);

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)), overwrite: true);
    }
}
