using System.Text;
using Bundler.Audit;
using Bundler.Packaging;
using Bundler.Pki;

namespace Bundler.Tests.Audit;

/// <summary>The report's certificate inventory and key matrix, on a manifest made by hand (expiry dates chosen to sit on the boundaries).</summary>
public sealed class AuditReportTests
{
    private static readonly DateTimeOffset AsOf = new(2027, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static CertificateRecord Cert(string path, string cn, string serial, int daysLeft, string issuer = "CN=ca") =>
        new(path, "CN=" + cn, issuer, ["DNS:" + cn], AsOf.AddDays(-10), AsOf.AddDays(daysLeft).AddHours(1), "ecdsa-p256", serial);

    private static NodeRecord Node(string name, IReadOnlyList<CertificateRecord> certificates, params string[] keys) =>
        new(name, "10.0.0.1", ["worker"], "amd64", new BundleRecord(name + ".run", 1, new string('a', 64), "", 0, ""), [], [], certificates, keys, []);

    private static BundleManifest Manifest()
    {
        var ca = Cert("/etc/kubernetes/pki/ca.crt", "ca", "01", 3000);
        return new BundleManifest(2, "0.1.0", new SiteRecord("lab", "1.36.0", new string('b', 64)), 0, [], null,
        [
            Node("n1", [ca, Cert("/etc/kubernetes/pki/a.crt", "expired", "02", -1), Cert("/etc/kubernetes/pki/b.crt", "thirty", "03", 30)],
                "/etc/kubernetes/pki/a.key", "/etc/kubernetes/pki/etcd/b.key"),
            Node("n2", [ca, Cert("/etc/kubernetes/pki/c.crt", "thirty-one", "04", 31), Cert("/etc/kubernetes/pki/d.crt", "ninety", "05", 90),
                Cert("/etc/kubernetes/pki/e.crt", "ninety-one", "06", 91)], "/etc/kubernetes/pki/a.key"),
        ]);
    }

    [Fact]
    public void GivenCertificatesOnSeveralNodes_WhenInventoried_ThenEachIsOneRowWithItsHoldersAndTheUrgencyOfItsDaysLeft()
    {
        var rows = AuditReport.Certificates(Manifest(), AsOf);

        Assert.Equal(["CN=expired", "CN=thirty", "CN=thirty-one", "CN=ninety", "CN=ninety-one", "CN=ca"], rows.Select(r => r.Certificate.Subject));
        Assert.Equal([-1, 30, 31, 90, 91, 3000], rows.Select(r => r.DaysLeft));
        Assert.Equal([Urgency.Expired, Urgency.Critical, Urgency.Warning, Urgency.Warning, Urgency.Ok, Urgency.Ok], rows.Select(r => r.Urgency));
        Assert.Equal([("n1", "/etc/kubernetes/pki/ca.crt"), ("n2", "/etc/kubernetes/pki/ca.crt")], rows[^1].Holders);
    }

    [Fact]
    public void GivenThatManifest_WhenTheReportIsRendered_ThenRowsTimelineMarksAndTheKeyMatrixSayTheSame()
    {
        var html = Encoding.UTF8.GetString(AuditReport.Render(new ReportInput(Manifest(), new string('c', 64), new ToolIdentity("0.1.0", "abc123"),
            new string('d', 64), new ReportHistory(AsOf, BuildChanges.FirstBuild()))));

        Assert.Equal(6, CountOf(html, "<tr class=\"cert "));
        Assert.Contains("<tr class=\"cert urgency-expired\" data-urgency=\"expired\" data-days-left=\"-1\">", html, StringComparison.Ordinal);
        Assert.Contains("<tr class=\"cert urgency-critical\" data-urgency=\"critical\" data-days-left=\"30\">", html, StringComparison.Ordinal);
        Assert.Contains("expired 1 day(s) ago", html, StringComparison.Ordinal);
        Assert.Equal(6, CountOf(html, "<g class=\"mark "));
        Assert.Contains("<caption>Key files under <code>/etc/kubernetes/pki/</code></caption>", html, StringComparison.Ordinal);
        Assert.Contains("title=\"/etc/kubernetes/pki/etcd/b.key\"><code>etcd/b.key</code>", html, StringComparison.Ordinal);
        Assert.Equal(3, CountOf(html, "<td class=\"holds\""));
        Assert.Equal(1, CountOf(html, "<td class=\"lacks\""));
        Assert.Contains("<code>abc123</code>", html, StringComparison.Ordinal);
        Assert.Contains("First build: the output folder held no finished build to compare with.", html, StringComparison.Ordinal);
        Assert.Contains("This build ships no container images.", html, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenAReport_WhenItsHistoryIsReadBack_ThenTheDateAndChangesAreThoseItWasWrittenWith()
    {
        var history = new ReportHistory(AsOf, new BuildChanges("compared with x", [new ChangeGroup("node n1", ["file changed: </script><b>", "two\nlines"])]));

        var html = AuditReport.Render(new ReportInput(Manifest(), new string('c', 64), new ToolIdentity("0.1.0", null), new string('d', 64), history));

        Assert.Equivalent(history, ReportHistory.FromReport(html), strict: true);
        Assert.DoesNotContain("</script><b>", Encoding.UTF8.GetString(html), StringComparison.Ordinal);
        Assert.Null(ReportHistory.FromReport("<html>no history</html>"u8.ToArray()));
    }

    [Theory]
    [InlineData(7L)]
    [InlineData(null)]
    public void GivenAManifestWithOrWithoutABuildSerial_WhenTheAuditFilesAreMade_ThenTheReportAndTheSbomShowItWhenThereIsOne(long? serial)
    {
        var manifest = Manifest();
        var json = System.Text.Json.Nodes.JsonNode.Parse(manifest.ToBytes())!.AsObject();
        if (serial is not null)
            json["buildSerial"] = serial;
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);

        var files = AuditFiles.Render(manifest, Encoding.UTF8.GetBytes(json.ToJsonString()), key.ExportSubjectPublicKeyInfoPem(),
            new ReportHistory(AsOf, BuildChanges.FirstBuild()), new ToolIdentity("0.1.0", null));

        var report = Encoding.UTF8.GetString(files["report.html"]);
        var sbom = files["sbom.cdx.json"];
        Assert.Equal(serial is not null, report.Contains("<tr><th scope=\"row\">Build serial</th><td>7</td></tr>", StringComparison.Ordinal));
        var properties = System.Text.Json.Nodes.JsonNode.Parse(sbom)!["metadata"]!["properties"]!.AsArray();
        Assert.Equal(serial is not null, properties.Any(p => (string)p!["name"]! == "kbundle:buildSerial" && (string)p["value"]! == "7"));
        Assert.DoesNotContain(serial is null ? "Build serial" : "no such text", report, StringComparison.Ordinal);
    }

    private static int CountOf(string text, string what) => (text.Length - text.Replace(what, "", StringComparison.Ordinal).Length) / what.Length;
}
