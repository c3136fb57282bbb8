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

    [Fact]
    public void GivenFreshCertificates_WhenCertsAsksForThoseExpiringWithin30Days_ThenNoneIsNamedAndItExits0()
    {
        using var fixture = new PkiFixture();
        var sitePath = fixture.WriteSite(PkiFixture.Yaml(PkiFixture.StandardNodes()));
        fixture.Ensure(PkiFixture.Site());

        var result = CliRunner.Run("certs", sitePath, "--state", fixture.StateDir, "--expiring-within", "30");

        Assert.True(result.ExitCode == 0, result.All);
        Assert.Contains("No certificate expires within 30 days.", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenLeavesThatEndWithinTheWindow_WhenCertsAsksForThem_ThenEachIsNamedOnItsOwnLineAndItExits1()
    {
        using var fixture = new PkiFixture();
        var sitePath = fixture.WriteSite(PkiFixture.Yaml(PkiFixture.StandardNodes()));
        var pki = fixture.Ensure(PkiFixture.Site());
        var (output, stdout, _) = Output();

        // 400 days from now every leaf (365 days) has ended, no CA (10 years) has.
        var code = CertsCommand.Run(new CertsCommand.Options(sitePath, fixture.StateDir, null, Json: false, ExpiringWithin: 400), output);

        Assert.Equal(ExitCodes.Failure, code);
        var text = stdout.ToString();
        var leaves = pki.Items.Where(i => i.Certificate is not null && !i.Instance.Spec.IsAuthority).ToList();
        Assert.Contains($"{leaves.Count} certificate(s) expire within 400 days:", text, StringComparison.Ordinal);
        Assert.All(leaves, l => Assert.Matches($@"(?m)^  {System.Text.RegularExpressions.Regex.Escape(l.Instance.Id)} +\d{{4}}-\d\d-\d\d \d\d:\d\d UTC +\d+d$", text));
        Assert.DoesNotMatch(@"(?m)^  ca ", text);
        Assert.All(text.Split('\n'), l => Assert.True(l.Length <= 80, $"{l.Length} columns: {l}"));
    }

    [Fact]
    public void GivenJson_WhenCertsAsksForCertificatesExpiringWithinDays_ThenTheyAreListedAndTheExitCodeStillSaysSo()
    {
        using var fixture = new PkiFixture();
        var sitePath = fixture.WriteSite(PkiFixture.Yaml(PkiFixture.StandardNodes()));
        fixture.Ensure(PkiFixture.Site());

        var due = CliRunner.Run("certs", sitePath, "--state", fixture.StateDir, "--expiring-within", "400", "--json");
        var none = CliRunner.Run("certs", sitePath, "--state", fixture.StateDir, "--expiring-within", "0", "--json");

        Assert.Equal(1, due.ExitCode);
        using var json = JsonDocument.Parse(due.Out);
        var within = json.RootElement.GetProperty("expiringWithin");
        Assert.Equal(400, within.GetProperty("days").GetInt32());
        Assert.Contains(within.GetProperty("certificates").EnumerateArray(), c => c.GetProperty("id").GetString() == "nodes/k8s-01/apiserver");
        Assert.Equal(0, none.ExitCode);
        using var empty = JsonDocument.Parse(none.Out);
        Assert.Equal(0, empty.RootElement.GetProperty("expiringWithin").GetProperty("certificates").GetArrayLength());
    }

    [Theory]
    [InlineData("-1", "--expiring-within -1: not a number of days")]
    [InlineData("soon", "soon")]
    [InlineData("99999", "allowed: 0 to 36500")]
    public void GivenABadNumberOfDays_WhenCertsRuns_ThenItExits2NamingIt(string days, string named)
    {
        using var fixture = new PkiFixture();
        var sitePath = fixture.WriteSite(PkiFixture.Yaml(PkiFixture.StandardNodes()));
        fixture.Ensure(PkiFixture.Site());

        var result = CliRunner.Run("certs", sitePath, "--state", fixture.StateDir, "--expiring-within", days);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(named, result.All, StringComparison.Ordinal);
    }

    private static (CliOutput Output, StringWriter Out, StringWriter Err) Output()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        return (new CliOutput(stdout, stderr, interactive: false), stdout, stderr);
    }
}
