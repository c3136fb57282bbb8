using System.Globalization;
using System.Text;
using Bundler.Tests.Packaging;

namespace Bundler.Tests.Cli;

/// <summary><c>kbundle report DIR [--against OLD] [--out FILE]</c>, and what verify and inspect say of the audit files.</summary>
public sealed class ReportCommandTests : IDisposable
{
    private readonly BundleFixture _fx = new();

    public ReportCommandTests() => Environment.SetEnvironmentVariable("SOURCE_DATE_EPOCH", BundleFixture.Epoch.ToString(CultureInfo.InvariantCulture));

    public void Dispose() => _fx.Dispose();

    /// <summary>Every file under the build root with its bytes' hash: to prove a command wrote nothing anywhere.</summary>
    private Dictionary<string, string> Snapshot() =>
        Directory.EnumerateFiles(_fx.Root, "*", SearchOption.AllDirectories)
            .Where(f => !f.StartsWith(_fx.Cache, StringComparison.Ordinal))
            .ToDictionary(f => Path.GetRelativePath(_fx.Root, f), f => BundleFixture.Sha256(File.ReadAllBytes(f)));

    [Fact]
    public async Task GivenAVerifiedFolder_WhenItsReportIsMadeAgain_ThenItIsByteIdenticalToTheSignedOneAndNothingChanges()
    {
        await _fx.BuildAsync();
        var before = Snapshot();

        var result = CliRunner.Run("report", _fx.Out());

        Assert.True(result.ExitCode == 0, result.All);
        Assert.Contains("report.html: re-created from the verified folder, byte-identical to the signed report", result.Out, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot());
        Assert.Equal(0, CliRunner.Run("verify", _fx.Out()).ExitCode);
    }

    public static TheoryData<string, string> Tampers => new()
    {
        { "w1.run", "w1.run: sha256 is" },
        { "report.html", "report.html: sha256 is" },
        { "sbom.cdx.json", "sbom.cdx.json: sha256 is" },
        { "INSTALL.txt", "INSTALL.txt: sha256 is" },
        { "manifest.json", "manifest.json: sha256 is" },
    };

    [Theory]
    [MemberData(nameof(Tampers))]
    public async Task GivenATamperedFolder_WhenAReportIsAsked_ThenExit4NamesWhatFailedAndNothingIsWritten(string file, string message)
    {
        await _fx.BuildAsync();
        var path = Path.Combine(_fx.Out(), file);
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(path, bytes);
        var before = Snapshot();
        var output = Path.Combine(_fx.Root, "elsewhere.html");

        var inPlace = CliRunner.Run("report", _fx.Out());
        var elsewhere = CliRunner.Run("report", _fx.Out(), "--out", output);

        Assert.Equal((4, 4), (inPlace.ExitCode, elsewhere.ExitCode));
        Assert.Contains("does not verify, so no report is made from it", elsewhere.Error, StringComparison.Ordinal);
        Assert.Contains(message, elsewhere.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public async Task GivenAnEarlierBuild_WhenReportedAgainstIt_ThenTheReportWrittenElsewhereListsTheChangesAndTheSignedOneStays()
    {
        await _fx.BuildAsync(_fx.Out("old"));
        _fx.ReplaceUpstream("etcd", "/usr/bin/comm");
        // A first build in its own folder: its signed report compares with nothing.
        await _fx.BuildAsync(_fx.Out("new"));
        var signed = File.ReadAllBytes(Path.Combine(_fx.Out("new"), "report.html"));
        var output = Path.Combine(_fx.Root, "audit.html");

        var refused = CliRunner.Run("report", _fx.Out("new"), "--against", _fx.Out("old"));
        var written = CliRunner.Run("report", _fx.Out("new"), "--against", _fx.Out("old"), "--out", output);

        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("the folder's signature covers that file; write it elsewhere with --out FILE", refused.Error, StringComparison.Ordinal);
        Assert.True(written.ExitCode == 0, written.All);
        var html = File.ReadAllText(output);
        Assert.Contains($"in {_fx.Out("old")}.", html, StringComparison.Ordinal);
        Assert.Matches(@"binary changed: /opt/k8s/bin/etcd sha256 [0-9a-f]{64} -&gt; [0-9a-f]{64}", html);
        Assert.Equal(signed, File.ReadAllBytes(Path.Combine(_fx.Out("new"), "report.html")));
        Assert.Equal(0, CliRunner.Run("verify", _fx.Out("new")).ExitCode);
    }

    [Fact]
    public async Task GivenATamperedEarlierBuild_WhenReportedAgainstIt_ThenExit4AndNothingIsWritten()
    {
        await _fx.BuildAsync(_fx.Out("old"));
        await _fx.BuildAsync(_fx.Out("new"));
        File.AppendAllText(Path.Combine(_fx.Out("old"), "manifest.json"), " ");
        var output = Path.Combine(_fx.Root, "audit.html");

        var result = CliRunner.Run("report", _fx.Out("new"), "--against", _fx.Out("old"), "--out", output);

        Assert.Equal(4, result.ExitCode);
        Assert.Contains(_fx.Out("old") + " does not verify", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public async Task GivenAnAuditFileThatSha256SumsDoesNotList_WhenVerified_ThenItFails()
    {
        await _fx.BuildAsync();
        // A SHA256SUMS without INSTALL.txt, signed again with the site's own key: the signature holds, the listing does not.
        var sumsPath = Path.Combine(_fx.Out(), "SHA256SUMS");
        var sums = Encoding.UTF8.GetBytes(string.Concat(File.ReadAllLines(sumsPath).Where(l => !l.EndsWith("  INSTALL.txt", StringComparison.Ordinal)).Select(l => l + "\n")));
        File.WriteAllBytes(sumsPath, sums);
        using (var key = _fx.Last!.Pki!.SigningKey.Open())
            File.WriteAllBytes(Path.Combine(_fx.Out(), "SHA256SUMS.sig"), Bundler.Signing.SignStep.Sign(sums, key));

        var result = CliRunner.Run("verify", _fx.Out());

        Assert.Equal(4, result.ExitCode);
        Assert.Contains("FAILED INSTALL.txt: not listed in SHA256SUMS", result.Error, StringComparison.Ordinal);
        Assert.Contains("ok     SHA256SUMS.sig", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenABuildFolder_WhenInspected_ThenItNamesTheFilesForAuditors()
    {
        await _fx.BuildAsync();

        var result = CliRunner.Run("inspect", _fx.Out());

        Assert.Equal(0, result.ExitCode);
        Assert.Contains($"for auditors (signed with the bundles): sbom.cdx.json, report.html, INSTALL.txt; kbundle report {_fx.Out()} re-creates the report", result.Out, StringComparison.Ordinal);
    }
}
