using System.Globalization;
using System.Text;
using Bundler.Audit;
using Bundler.Cli;
using Bundler.Packaging;
using Bundler.Pipeline;
using Bundler.Tests.Packaging;

namespace Bundler.Tests.Audit;

/// <summary>
/// What a real build leaves for auditors and field engineers beside the bundles: sbom.cdx.json, report.html and
/// INSTALL.txt, signed with them; the same bytes again when nothing changed; the changes when something did.
/// </summary>
public sealed class AuditOutputsTests : IDisposable
{
    private static readonly string[] AuditFiles = ["sbom.cdx.json", "report.html", "INSTALL.txt"];

    private readonly BundleFixture _fx = new();

    public AuditOutputsTests() => Environment.SetEnvironmentVariable("SOURCE_DATE_EPOCH", BundleFixture.Epoch.ToString(CultureInfo.InvariantCulture));

    public void Dispose() => _fx.Dispose();

    private Dictionary<string, byte[]> Read() => AuditFiles.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(_fx.Out(), f)));

    private string Report => File.ReadAllText(Path.Combine(_fx.Out(), "report.html"));

    [ToolFact("sha256sum", "openssl")]
    public async Task GivenABuild_WhenItsFolderIsCheckedWithStockTools_ThenTheSbomReportAndInstallOrderAreListedAndSigned()
    {
        await _fx.BuildAsync();

        var listed = File.ReadAllLines(Path.Combine(_fx.Out(), "SHA256SUMS")).Select(l => l[66..]).ToList();
        var sums = BundleFixture.Run("sha256sum", ["-c", "SHA256SUMS"], workDir: _fx.Out());
        var signature = BundleFixture.Run("openssl", ["dgst", "-sha256", "-verify", "signing.pub", "-signature", "SHA256SUMS.sig", "SHA256SUMS"], workDir: _fx.Out());

        Assert.Equal(["INSTALL.txt", "m1.run", "manifest.json", "report.html", "sbom.cdx.json", "w1.run", "w2.run"], listed);
        Assert.True(sums.Code == 0, sums.Out + sums.Err);
        Assert.All(AuditFiles, f => Assert.Contains($"{f}: OK", sums.Out, StringComparison.Ordinal));
        Assert.Equal(("Verified OK", 0), (signature.Out.Trim(), signature.Code));
    }

    [ToolFact("openssl", "sha256sum")]
    public async Task GivenABuild_WhenTheSigningKeyIsFingerprintedWithOpenssl_ThenTheReportShowsTheSameSha256()
    {
        await _fx.BuildAsync();

        var der = BundleFixture.Run("bash", ["-c", "openssl pkey -pubin -in signing.pub -outform DER | sha256sum"], workDir: _fx.Out());

        Assert.Equal(0, der.Code);
        Assert.Contains($"<th scope=\"row\">Signing key SHA-256</th><td><code>{der.Out[..64]}</code></td>", Report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenARebuildWithNothingChanged_EvenADayLater_ThenTheSbomReportAndInstallOrderAreByteIdentical()
    {
        await _fx.BuildAsync();
        var first = Read();

        await _fx.BuildAsync(now: BundleFixture.Now.AddDays(1));

        Assert.All(Read(), f => Assert.True(first[f.Key].AsSpan().SequenceEqual(f.Value), $"{f.Key} changed"));
        Assert.Contains("First build: the output folder held no finished build to compare with.", Report, StringComparison.Ordinal);
        Assert.Contains("2026-01-01 00:00 UTC", Report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenANewUpstreamRelease_WhenRebuilt_ThenTheReportListsWhatChangedSinceThePreviousBuildAndTheNewDate()
    {
        await _fx.BuildAsync();
        var previousManifest = PayloadWriter.Sha256Hex(Path.Combine(_fx.Out(), "manifest.json"));
        _fx.ReplaceUpstream("kubelet", "/usr/bin/uniq");

        await _fx.BuildAsync(now: BundleFixture.Now.AddDays(3));

        var report = Report;
        Assert.Contains($"Compared with the previous build of 2026-01-01 00:00 UTC (manifest.json sha256 {previousManifest}).", report, StringComparison.Ordinal);
        Assert.Contains("<h3>artifacts</h3>", report, StringComparison.Ordinal);
        Assert.Matches(@"<li>kubernetes-server \(amd64\): 1\.36\.0 -&gt; 1\.36\.0, sha256 [0-9a-f]{64} -&gt; sha256 [0-9a-f]{64}</li>", report);
        Assert.Contains("<h3>node w1</h3>", report, StringComparison.Ordinal);
        Assert.Matches(@"<li>binary changed: /opt/k8s/bin/kubelet sha256 [0-9a-f]{64} -&gt; [0-9a-f]{64}</li>", report);
        // A master is a node too (SPEC §7): its kubelet changed as well.
        var m1 = report[report.IndexOf("<h3>node m1</h3>", StringComparison.Ordinal)..];
        Assert.Matches(@"^<h3>node m1</h3>\n<ul[^>]*>\n(<li>[^\n]*\n)*<li>binary changed: /opt/k8s/bin/kubelet sha256 ", m1);
        Assert.Contains("Days left are counted from 2026-01-04 00:00 UTC", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenRenewedCertificates_WhenRebuilt_ThenTheChangesNameReissuedCertificatesAndReplacedKeysButNoSecret()
    {
        await _fx.BuildAsync();

        await _fx.BuildAsync(renew: true, now: BundleFixture.Now.AddDays(10));

        var report = Report;
        Assert.Matches("certificate re-issued: /etc/kubernetes/pki/apiserver.crt CN=kube-apiserver serial [0-9A-F]+ -&gt; [0-9A-F]+; expiry 2027-01-01T00:00:00Z -&gt; 2027-01-11T00:00:00Z", report);
        Assert.Contains("private key replaced: /etc/kubernetes/pki/apiserver.key (contents not shown)", report, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", report, StringComparison.Ordinal);
        Assert.DoesNotContain("client-key-data", report, StringComparison.Ordinal);
        var keys = Directory.EnumerateFiles(_fx.State, "*.key", SearchOption.AllDirectories).Select(File.ReadAllText).ToList();
        Assert.NotEmpty(keys);
        Assert.All(keys, key => Assert.DoesNotContain(key.Split('\n').First(l => l.Length > 20 && !l.StartsWith("-----", StringComparison.Ordinal)), report, StringComparison.Ordinal));
    }

    [Fact]
    public async Task GivenAChecksumSourceWithMarkup_WhenTheReportIsWritten_ThenEveryValueIsHtmlEscaped()
    {
        _fx.ChecksumSource = "<script>alert('x')</script> & <img src=https://example.invalid/x.png>";
        _fx.RewriteLock();

        await _fx.BuildAsync();

        var report = Report;
        Assert.Contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;img src=https://example.invalid/x.png&gt;", report, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>alert", report, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", report, StringComparison.Ordinal);
        // The one script element is the embedded history: JSON, never run, with no '<' that could end it.
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(report, "<script"));
        Assert.Contains($"<script type=\"application/json\" id=\"{ReportHistory.ElementId}\">", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenABuild_WhenPackageRan_ThenBuildPrintsTheInstallOrderThatInstallTxtHolds()
    {
        var outputs = await _fx.BuildAsync();
        var text = new StringWriter();

        BuildCommand.WriteInstallOrder(new BuildReport([], 0, null) { Outputs = outputs }, new CliOutput(text, TextWriter.Null, interactive: false));

        var install = File.ReadAllText(Path.Combine(_fx.Out(), "INSTALL.txt"));
        var printed = text.ToString();
        Assert.StartsWith("Install order (INSTALL.txt beside the bundles):\n1. etcd members, together.", printed, StringComparison.Ordinal);
        // INSTALL.txt holds the printed order, then how later builds roll out (day two).
        var order = printed["Install order (INSTALL.txt beside the bundles):\n".Length..];
        Assert.Contains("\n\n" + order + "\nLater builds of this site", install, StringComparison.Ordinal);
        var sums = File.ReadAllLines(Path.Combine(_fx.Out(), "SHA256SUMS")).ToDictionary(l => l[66..], l => l[..64]);
        Assert.Contains($"   m1.run  10.88.0.11  etcd,master  sha256 {sums["m1.run"]}\n2. workers.", install, StringComparison.Ordinal);
        Assert.Contains($"   w2.run  10.88.0.22  worker       sha256 {sums["w2.run"]}\n", install, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenEtcdOnlyMastersAndWorkers_WhenOrdered_ThenEtcdMembersComeTogetherFirstThenMastersThenWorkers()
    {
        NodeRecord Node(string name, params string[] roles) =>
            new(name, "10.0.0." + name[^1], roles, "amd64", new BundleRecord(name + ".run", 1, new string('a', 64), "", 0, ""), [], [], [], [], []);
        var manifest = new BundleManifest(2, "0.1.0", new SiteRecord("lab", "1.36.0", ""), 0, [], null,
            [Node("w1", "worker"), Node("m1", "master"), Node("e1", "etcd"), Node("e2", "etcd", "master"), Node("m2", "master", "worker"), Node("e3", "etcd")]);

        var steps = InstallOrder.Steps(manifest);

        Assert.Equal(["etcd members, together", "masters", "workers"], steps.Select(s => s.Title));
        Assert.Equal([["e1", "e2", "e3"], ["m1", "m2"], ["w1"]], steps.Select(s => s.Nodes.Select(n => n.Name).ToArray()));
        Assert.Contains("m1 is the first master", string.Join(" ", steps[1].Notes), StringComparison.Ordinal);
        Assert.Single(steps.SelectMany(s => s.Notes), n => n.Contains("first master", StringComparison.Ordinal));
        Assert.Contains("1. etcd members, together. Start them all within a few minutes", Encoding.UTF8.GetString(InstallOrder.Render(manifest)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenTheSameStateInTwoFolders_WhenBothAreFirstBuilds_ThenTheirReportsAreTheSame()
    {
        await _fx.BuildAsync(_fx.Out("a"));
        await _fx.BuildAsync(_fx.Out("b"));

        foreach (var file in AuditFiles)
            Assert.Equal(File.ReadAllBytes(Path.Combine(_fx.Out("a"), file)), File.ReadAllBytes(Path.Combine(_fx.Out("b"), file)));
    }
}
