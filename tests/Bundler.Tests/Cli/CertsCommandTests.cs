using System.Text.Json;
using Bundler.Cli;
using Bundler.Tests.Pki;

namespace Bundler.Tests.Cli;

public sealed class CertsCommandTests
{
    [Fact]
    public void GivenACertsCommandLine_WhenParsed_ThenEveryOptionIsBound()
    {
        var output = new CliOutput(new StringWriter(), new StringWriter(), interactive: false);
        var parse = Bundler.Cli.Cli.BuildRoot(output).Parse("certs sites/lab.yaml --state /tmp/st --pins pins/1.36.0.yaml --json");

        Assert.Empty(parse.Errors);
        Assert.Equal(new CertsCommand.Options("sites/lab.yaml", "/tmp/st", "pins/1.36.0.yaml", true), CertsCommand.Bind(parse));
        var bare = CertsCommand.Bind(Bundler.Cli.Cli.BuildRoot(output).Parse("certs lab.yaml"));
        Assert.Equal(new CertsCommand.Options("lab.yaml", null, null, false), bare);
    }

    [Fact]
    public void GivenIssuedState_WhenCertsRunsWide_ThenItPrintsOneRowPerNodeCertificate()
    {
        using var fixture = new PkiFixture();
        var sitePath = fixture.WriteSite(PkiFixture.Yaml(PkiFixture.StandardNodes()));
        var site = PkiFixture.Site();
        fixture.Ensure(site);
        var (output, stdout, stderr) = Output();

        var code = CertsCommand.Run(new CertsCommand.Options(sitePath, fixture.StateDir, null, Json: false, Wide: true), output);

        Assert.Equal(ExitCodes.Success, code);
        var text = stdout.ToString();
        foreach (var expected in new[] { "Node", "Expires", "k8s-05   /etc/kubernetes/kubelet.conf", "k8s-04", "/etc/kubernetes/pki/kubelet.crt", "system:node:k8s-04", "system:nodes", "kubernetes-ca", "364d", "kubernetes.default.svc.cluster.local, k8s-03, lb.example.com, 192.168.93.13, 10.254.0.1, 127.0.0.1, 192.168.93.100" })
            Assert.Contains(expected, text);
        Assert.Equal("", stderr.ToString());
    }

    [Fact]
    public void GivenJsonAndCertificatesNearExpiry_WhenCertsRuns_ThenEveryCertificateIsListedAndWarned()
    {
        using var fixture = new PkiFixture();
        var sitePath = fixture.WriteSite(PkiFixture.Yaml(PkiFixture.StandardNodes()));
        var site = PkiFixture.Site();
        var pki = fixture.Ensure(site);
        var (output, stdout, _) = Output();

        CertsCommand.Run(new CertsCommand.Options(sitePath, fixture.StateDir, null, Json: true), output, DateTimeOffset.UtcNow.AddDays(300));

        using var json = JsonDocument.Parse(stdout.ToString());
        var rows = json.RootElement.GetProperty("certificates");
        Assert.Equal(site.Nodes.Sum(n => pki.CertificatesFor(n).Count), rows.GetArrayLength());
        // One warning per certificate, however many nodes carry it.
        var expiring = pki.Items.Where(i => i.Certificate is not null && i.Certificate.NotAfter.ToUniversalTime() < DateTime.UtcNow.AddDays(300 + CertsCommand.WarningDays)).ToList();
        Assert.NotEmpty(expiring);
        Assert.Equal(expiring.Count, json.RootElement.GetProperty("warnings").GetArrayLength());
    }

    [Fact]
    public void GivenIssuedState_WhenCertsRuns_ThenCasComeFirstThenLeavesEachWithExpiryAndTimeLeftInEightyColumns()
    {
        using var fixture = new PkiFixture();
        var sitePath = fixture.WriteSite(PkiFixture.Yaml(PkiFixture.StandardNodes()));
        var site = PkiFixture.Site();
        var pki = fixture.Ensure(site);
        var (output, stdout, stderr) = Output();

        var code = CertsCommand.Run(new CertsCommand.Options(sitePath, fixture.StateDir, null, Json: false), output, DateTimeOffset.UtcNow.AddDays(300));

        Assert.Equal(ExitCodes.Success, code);
        var lines = stdout.ToString().Split('\n');
        Assert.All(lines, l => Assert.True(l.Length <= 80, $"{l.Length} columns: {l}"));
        var cas = Array.FindIndex(lines, l => l.StartsWith("CERTIFICATE AUTHORITY", StringComparison.Ordinal));
        var leaves = Array.FindIndex(lines, l => l.StartsWith("CERTIFICATE ", StringComparison.Ordinal) && !l.StartsWith("CERTIFICATE AUTHORITY", StringComparison.Ordinal));
        Assert.True(cas >= 0 && leaves > cas, stdout.ToString());
        Assert.Matches(@"(?m)^ca +\d{4}-\d\d-\d\d \d\d:\d\d UTC +9y$", stdout.ToString());
        Assert.Matches(@"(?m)^etcd/ca +\d{4}-\d\d-\d\d \d\d:\d\d UTC +9y$", stdout.ToString());
        Assert.Matches(@"(?m)^admin +\d{4}-\d\d-\d\d \d\d:\d\d UTC +64d +ca$", stdout.ToString());
        Assert.Single(lines, l => l.StartsWith("nodes/k8s-01/apiserver ", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("admin ", StringComparison.Ordinal));
        // One warning line per certificate (admin sits on every master, warned once).
        var warnings = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(warnings, w => w.StartsWith("warning: admin ", StringComparison.Ordinal));
        Assert.Equal(pki.Items.Count(i => i.Certificate is not null && !i.Instance.Spec.IsAuthority), warnings.Length);
    }

    [Fact]
    public void GivenNoState_WhenCertsRuns_ThenItSaysToBuildThePkiFirst()
    {
        using var fixture = new PkiFixture();
        var sitePath = fixture.WriteSite(PkiFixture.Yaml(PkiFixture.StandardNodes()));
        var (output, _, _) = Output();

        var error = Assert.Throws<UserInputException>(() => CertsCommand.Run(new CertsCommand.Options(sitePath, fixture.StateDir, null, false), output));

        Assert.Contains("--until pki", error.Message);
    }

    private static (CliOutput Output, StringWriter Out, StringWriter Err) Output()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        return (new CliOutput(stdout, stderr, interactive: false), stdout, stderr);
    }
}
