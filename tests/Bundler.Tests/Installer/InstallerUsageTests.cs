using System.Text.RegularExpressions;
using Bundler.Packaging;
using Bundler.Tests.Packaging;
using Xunit;

namespace Bundler.Tests.Installer;

/// <summary>The installer as a field engineer first meets it (issue 12 item 26): its help, version, check and shell.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class InstallerUsageTests : IDisposable
{
    private readonly BundleFixture _fx = new();
    private readonly Dictionary<string, string> _env;

    public InstallerUsageTests()
    {
        (_, _env) = _fx.InstallerHost();
    }

    public void Dispose() => _fx.Dispose();

    private string Bundle(string node = "w1") => Path.Combine(_fx.Out(), node + ".run");

    private (int Code, string Out, string Err) Run(string shell, params string[] args) => BundleFixture.Run(shell, [Bundle(), .. args], _env);

    [Fact]
    public async Task GivenABundle_WhenAskedForHelp_ThenEveryOptionHasItsOwnLine()
    {
        await _fx.BuildAsync();

        var (code, stdout, stderr) = Run("bash", "--help");

        Assert.True(code == 0, stderr);
        foreach (var option in new[] { "--info", "--check", "--list", "--extract DIR", "--dry-run", "--uninstall", "--purge", "--root DIR", "--no-start",
                     "--skip-preflight NAME[,NAME]", "--yes", "--allow-downgrade", "--version", "--help", "--etcd-restore FILE", "--hold UNIT[,UNIT]" })
            Assert.True(Regex.IsMatch(stdout, $@"^  {Regex.Escape(option)}(\s{{2,}}\S|\n {{20,}}\S)", RegexOptions.Multiline), $"{option} has no line of its own:\n{stdout}");
        // The usage line names the file; the checks are the bundle's own list. Everything else fits 80 columns.
        Assert.All(stdout.Split('\n').Where(l => !l.StartsWith("Usage:", StringComparison.Ordinal) && !l.StartsWith("Preflight checks:", StringComparison.Ordinal)),
            l => Assert.True(l.Length <= 80, l));
    }

    [Fact]
    public async Task GivenABundle_WhenAskedForItsVersion_ThenItNamesTheToolTheNodeAndTheBuild()
    {
        await _fx.BuildAsync();

        var (code, stdout, stderr) = Run("bash", "--version");

        Assert.True(code == 0, stderr);
        Assert.StartsWith($"kbundle {PackageStep.ToolVersion}: node w1 of site lab", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenABundle_WhenChecked_ThenItAlsoPrintsTheWholeFilesSha256AsSha256SumsListsIt()
    {
        await _fx.BuildAsync();
        var listed = File.ReadAllLines(Path.Combine(_fx.Out(), "SHA256SUMS")).Single(l => l.EndsWith("  w1.run", StringComparison.Ordinal));

        var (code, stdout, stderr) = Run("bash", "--check");

        Assert.True(code == 0, stderr);
        Assert.Contains(listed + "\n", stdout, StringComparison.Ordinal);
        Assert.Contains(PayloadWriter.Sha256Hex(Bundle()), listed, StringComparison.Ordinal);
    }

    [ToolFact("sh")]
    public async Task GivenABundleStartedWithSh_WhenRun_ThenItRunsItselfWithBash()
    {
        await _fx.BuildAsync();

        var (code, stdout, stderr) = Run("sh", "--info");

        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("node:           w1 (10.88.0.21)", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAnInstallUnderRoot_WhenDone_ThenItSaysWhatItDidNotApply()
    {
        await _fx.BuildAsync();
        var root = Path.Combine(_fx.Root, "node");
        Directory.CreateDirectory(root);

        var (code, stdout, stderr) = Run("bash", "--root", root);

        Assert.True(code == 0, stderr);
        var line = stdout.Split('\n').Single(l => l.StartsWith("not applied under --root:", StringComparison.Ordinal));
        foreach (var what in new[] { "units (not started: containerd kube-nginx kbundle-images kubelet kube-proxy kbundle-cert-check.timer)", "sysctls", "kernel modules", "routes", "/etc/hosts" })
            Assert.Contains(what, line, StringComparison.Ordinal);
    }
}
