using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Bundler.Cli;
using Bundler.Pipeline;
using Bundler.Tests.Packaging;

namespace Bundler.Tests.Cli;

/// <summary>
/// What <c>kbundle build</c> prints (issue 12 items 19, 20, 22): one JSON document with --json, progress an 80-column
/// terminal can show, and a summary that names the output folder, the bundles that changed and their sizes.
/// </summary>
public sealed partial class BuildOutputTests : IDisposable
{
    private readonly BundleFixture _fx = new();

    public BuildOutputTests() => Environment.SetEnvironmentVariable("SOURCE_DATE_EPOCH", BundleFixture.Epoch.ToString(CultureInfo.InvariantCulture));

    public void Dispose() => _fx.Dispose();

    [ToolFact("cc", "make")]
    public async Task GivenJson_WhenBuilt_ThenStdoutIsOneDocumentNamingTheFolderAndEveryBundleAndProgressGoesToStderr()
    {
        var line = await _fx.CommandLineAsync();

        var result = CliRunner.Run([.. line, "--json"]);

        Assert.True(result.ExitCode == 0, result.All);
        using var json = JsonDocument.Parse(result.Out);
        var root = json.RootElement;
        Assert.Equal(0, root.GetProperty("exitCode").GetInt32());
        Assert.Equal(_fx.Out(), root.GetProperty("outDir").GetString());
        Assert.Equal(1, root.GetProperty("buildSerial").GetInt64());
        var bundles = root.GetProperty("bundles").EnumerateArray().ToList();
        Assert.Equal(["m1.run", "w1.run", "w2.run"], bundles.Select(b => b.GetProperty("file").GetString()));
        foreach (var bundle in bundles)
        {
            var path = Path.Combine(_fx.Out(), bundle.GetProperty("file").GetString()!);
            Assert.Equal(new FileInfo(path).Length, bundle.GetProperty("size").GetInt64());
            Assert.Equal(BundleFixture.Sha256(File.ReadAllBytes(path)), bundle.GetProperty("sha256").GetString());
            Assert.Equal("new", bundle.GetProperty("change").GetString());
        }
        Assert.Contains("==> fetch", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenJsonAndABadSite_WhenBuilt_ThenStdoutIsStillOneDocumentWithTheErrorAndExit2()
    {
        using var dir = new TempDir();
        var site = dir.File("site.yaml");
        File.Copy(TestPaths.TestData("Configuration", "bad", "09-bad-ip.yaml"), site);

        var result = CliRunner.Run("build", site, "--json", "--state", dir.File("state"), "--out", dir.File("out"), "--cache", dir.File("cache"));

        Assert.Equal(2, result.ExitCode);
        using var json = JsonDocument.Parse(result.Out);
        Assert.Equal(2, json.RootElement.GetProperty("exitCode").GetInt32());
        Assert.Contains("nodes[0].ip", json.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains(json.RootElement.GetProperty("errors").EnumerateArray(), e => e.GetString()!.Contains("nodes[0].ip", StringComparison.Ordinal));
    }

    [ToolFact("cc", "make")]
    public async Task GivenRebuilds_WhenTheSummaryIsPrinted_ThenItNamesTheFolderTheChangedBundlesAndHumanSizes()
    {
        var line = await _fx.CommandLineAsync();
        var first = CliRunner.Run([.. line]);
        // A new etcd: the etcd member's bundle changes, the workers' do not (they run no etcd).
        _fx.ReplaceUpstream("etcd", "/usr/bin/du");
        line = await _fx.CommandLineAsync();
        var second = CliRunner.Run([.. line]);

        Assert.True(first.ExitCode == 0, first.All);
        Assert.True(second.ExitCode == 0, second.All);
        Assert.Contains($"Bundles in {_fx.Out()} (build serial 1", first.Out, StringComparison.Ordinal);
        Assert.Matches(@"\n  w1\.run +\d+(\.\d)? (KiB|MiB) +new\n", first.Out);
        Assert.Contains($"Bundles in {_fx.Out()} (build serial 2", second.Out, StringComparison.Ordinal);
        Assert.Matches(@"\n  m1\.run +\d+(\.\d)? (KiB|MiB) +changed\n", second.Out);
        Assert.Matches(@"\n  w1\.run +\d+(\.\d)? (KiB|MiB) +unchanged\n", second.Out);
        Assert.Matches(@"\n  w2\.run +\d+(\.\d)? (KiB|MiB) +unchanged\n", second.Out);
        Assert.Matches(@"m1\.run: \d+(\.\d)? (KiB|MiB), payload sha256 ", second.Out);
    }

    [Fact]
    public async Task GivenAnEightyColumnTerminal_WhenProgressIsDrawn_ThenEveryTaskIsOneLineAndNonDownloadsShowASpinnerAndElapsedTime()
    {
        var screen = new StringWriter();
        var output = new CliOutput(screen, new StringWriter(), interactive: true, width: 80, ansi: true);
        var reporter = new ConsoleReporter(output);
        const string download = "kubernetes-server 1.36.0 amd64: kubernetes-server-linux-amd64.tar.gz (https://dl.k8s.io/v1.36.0/kubernetes-server-linux-amd64.tar.gz)";
        const string compile = "kube-nginx 1.30.3 amd64: configure and compile with the cross toolchain aarch64-linux-gnu";

        await reporter.RunAsync(async () =>
        {
            using var fetch = reporter.Begin(download, 400L << 20);
            using var build = reporter.Begin(compile);
            fetch.Advance(100L << 20);
            await Task.Delay(700);
            fetch.Advance(300L << 20);
            fetch.Complete();
            build.Complete("cache miss");
            return 0;
        });

        // Each frame is drawn over the last one (carriage return, cursor up): every piece between line ends is a line.
        var lines = Ansi().Replace(screen.ToString(), "").Split('\n', '\r').ToList();
        Assert.All(lines, l => Assert.True(l.Length <= 80, $"{l.Length} columns: {l}"));
        var compileLines = lines.Where(l => l.Contains("kube-nginx 1.30.3", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(compileLines);
        // One line per task: the elapsed time sits on the description's line.
        Assert.All(compileLines, l => Assert.Matches(@"\d\d:\d\d:\d\d", l));
        Assert.Contains(compileLines, l => l.IndexOfAny(Spinner) >= 0);
        Assert.All(compileLines, l => Assert.DoesNotContain("%", l, StringComparison.Ordinal));
        var downloadLines = lines.Where(l => l.Contains("kubernetes-server 1.36.0", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(downloadLines);
        Assert.All(downloadLines, l => Assert.Matches(@"\d\d:\d\d:\d\d", l));
        Assert.Contains(downloadLines, l => l.Contains("MiB", StringComparison.Ordinal) || l.Contains("MB", StringComparison.Ordinal));
    }

    [Fact]
    public void GivenPlainOutput_WhenANonDownloadStepEnds_ThenItsLineSaysHowLongItTook()
    {
        var screen = new StringWriter();
        var reporter = new ConsoleReporter(new CliOutput(screen, new StringWriter(), interactive: false));

        using (var item = reporter.Begin("pki: generating 12 ecdsa-p256 keys"))
            item.Complete("0.05 s on 2 cores");

        Assert.Matches(@"pki: generating 12 ecdsa-p256 keys: done in \d+\.\ds \(0\.05 s on 2 cores\)", screen.ToString());
    }

    /// <summary>Spectre's default spinner frames and its ASCII fallback.</summary>
    private static readonly char[] Spinner = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏⣾⣽⣻⢿⡿⣟⣯⣷|/-\\".ToCharArray();

    [GeneratedRegex(@"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")]
    private static partial Regex Ansi();
}
