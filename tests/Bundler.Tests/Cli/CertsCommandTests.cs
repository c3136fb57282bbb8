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
    public void GivenIssuedState_WhenCertsRuns_ThenItPrintsOneRowPerNodeCertificate()
    {
        using var fixture = new PkiFixture();
        var sitePath = fixture.WriteSite(PkiFixture.Yaml(PkiFixture.StandardNodes()));
        var site = PkiFixture.Site();
        fixture.Ensure(site);
        var (output, stdout, stderr) = Output();

        var code = CertsCommand.Run(new CertsCommand.Options(sitePath, fixture.StateDir, null, Json: false), output);

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
        var leafCount = rows.EnumerateArray().Count(r => r.GetProperty("expiresInDays").GetInt32() < CertsCommand.WarningDays);
        Assert.True(leafCount > 0);
        Assert.Equal(leafCount, json.RootElement.GetProperty("warnings").GetArrayLength());
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
