using System.Text.RegularExpressions;
using Bundler.Configuration;
using Bundler.Layout;
using Bundler.Render;
using Xunit.Abstractions;

namespace Bundler.Tests.Render;

/// <summary>
/// SPEC §8 on the node: the etcd backup and certificate-check timers as systemd reads them, and the certificate check's
/// script against the rendered table of a node's real certificates, at several moments of their life.
/// </summary>
[Collection(RenderCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class DayTwoTimerTests(RenderFixture fixture, ITestOutputHelper output)
{
    [ToolFact("systemd-analyze", "cp")]
    public void GivenAnEtcdMembersTimers_WhenSystemdAnalyzeVerifiesThem_ThenItReportsNothingAndTheBackupRunsOnTheSitesSchedule()
    {
        var site = RenderFixture.LoadSite(ExampleSite.Text() + "etcdBackup: { schedule: hourly, keep: 3 }\n");
        var tree = fixture.RenderWith(null, site).Nodes.Single(n => n.Node == "k8s-01");
        var root = Directory.CreateTempSubdirectory("kbundle-timers-").FullName;
        try
        {
            Run("cp", ["-a", "/usr/lib/systemd/system", Path.Combine(root, "usr/lib/systemd")], Path.Combine(root, "usr/lib/systemd"));
            foreach (var file in tree.Files.Where(f => f.Path.StartsWith(NodePaths.UnitDir + "/kbundle-", StringComparison.Ordinal) || f.Path.StartsWith(NodePaths.LibexecDir, StringComparison.Ordinal)))
            {
                var target = Path.Combine(root, file.Path.TrimStart('/'));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.WriteAllBytes(target, file.Content!);
                File.SetUnixFileMode(target, file.Mode);
            }
            string[] units = ["kbundle-etcd-backup.timer", "kbundle-etcd-backup.service", "kbundle-cert-check.timer", "kbundle-cert-check.service"];

            var (code, text) = Run("systemd-analyze", ["verify", "--man=no", $"--root={root}", .. units]);

            output.WriteLine(text);
            Assert.True(code == 0 && text.Trim().Length == 0, $"systemd-analyze verify: {text}");
            var timer = RenderFixture.Text(tree.Files.Single(f => f.Path == NodePaths.Timer("kbundle-etcd-backup")));
            Assert.Contains("\nOnCalendar=hourly\n", timer, StringComparison.Ordinal);
            Assert.Contains("\nWantedBy=timers.target", timer, StringComparison.Ordinal);
            Assert.Contains("keep=3\n", RenderFixture.Text(tree.Files.Single(f => f.Path == NodePaths.Libexec("etcd-backup.sh"))), StringComparison.Ordinal);
            Assert.Contains("kbundle-etcd-backup.timer", tree.Units);
            Assert.DoesNotContain("kbundle-etcd-backup", tree.Units);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void GivenAWorker_ThenItChecksItsCertificatesButTakesNoEtcdBackup()
    {
        var units = fixture.Tree("k8s-04").Units;

        Assert.Contains("kbundle-cert-check.timer", units);
        Assert.DoesNotContain("kbundle-etcd-backup.timer", units);
    }

    [ToolFact("bash", "date")]
    public void GivenANodesCertificateTable_WhenTheCheckRunsAsTheYearGoesBy_ThenItWarnsOfEachLeafInItsLast30DaysAndCallsTheExpiredOnesErrors()
    {
        var tree = fixture.Tree("k8s-04");
        var table = RenderFixture.Text(tree.Files.Single(f => f.Path == NodePaths.CertExpiryTable));
        var rows = table.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split('\t')).ToList();
        var dir = Directory.CreateTempSubdirectory("kbundle-certcheck-").FullName;
        try
        {
            var script = Path.Combine(dir, "cert-check.sh");
            File.WriteAllBytes(script, tree.Files.Single(f => f.Path == NodePaths.Libexec("cert-check.sh")).Content!);
            File.WriteAllText(Path.Combine(dir, "table"), table);
            // The worker holds the CA certificate, its kubelet certificate and two kubeconfig credentials, each with its not-after.
            Assert.Equal(["ca", "nodes/k8s-04/kubelet", "kube-proxy", "nodes/k8s-04/kubelet-client"], rows.Select(r => r[3]));
            Assert.Equal([NodePaths.Pki("ca.crt"), NodePaths.Pki("kubelet.crt"), NodePaths.Kubeconfig("kube-proxy"), NodePaths.Kubeconfig("kubelet")], rows.Select(r => r[2]));
            var leafEnd = long.Parse(rows[1][0], System.Globalization.CultureInfo.InvariantCulture);
            string Check(long now) => Run("bash", [script], environment: new() { ["KBUNDLE_NOW"] = now.ToString(System.Globalization.CultureInfo.InvariantCulture), ["KBUNDLE_CERT_TABLE"] = Path.Combine(dir, "table") }).Text;

            var fresh = Check(leafEnd - 200 * 86400);
            var due = Check(leafEnd - 10 * 86400);
            var expired = Check(leafEnd + 86400);

            Assert.Equal("<6>kbundle-cert-check: no certificate of k8s-04 expires within 30 days", fresh.Trim());
            Assert.Equal(3, Warning().Matches(due).Count);
            Assert.Contains($"<4>kbundle-cert-check: {NodePaths.Pki("kubelet.crt")} (nodes/k8s-04/kubelet) expires on {rows[1][1]}, in 10 day(s)", due, StringComparison.Ordinal);
            Assert.DoesNotContain(NodePaths.Pki("ca.crt"), due, StringComparison.Ordinal);
            Assert.Contains("<4>kbundle-cert-check: 3 certificate(s) of k8s-04 expire within 30 days", due, StringComparison.Ordinal);
            Assert.Equal(3, Regex.Matches(expired, "<3>kbundle-cert-check: EXPIRED: ").Count);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [GeneratedRegex(@"<4>kbundle-cert-check: /\S+ \(\S+\) expires on ")]
    private static partial Regex Warning();

    private static (int Code, string Text) Run(string file, IEnumerable<string> arguments, string? mkdir = null, Dictionary<string, string>? environment = null)
    {
        if (mkdir is not null)
            Directory.CreateDirectory(mkdir);
        var result = ProcessRunner.RunAsync(file, arguments, "/", environment).GetAwaiter().GetResult();
        return (result.ExitCode, result.StandardOutput + result.StandardError);
    }
}
