using System.Globalization;
using Bundler.Pipeline;
using Bundler.Tests.Cli;
using Bundler.Tests.Packaging;

namespace Bundler.Tests.Pipeline;

/// <summary>
/// Where a build writes, as a user meets it through literal <c>kbundle build</c> command lines (issue 12 items 5, 9, 13):
/// one build at a time per state and output folder, never the keys beside the bundles, the state found beside the site
/// file, and no second CA over bundles another key signed.
/// </summary>
public sealed class BuildFoldersTests : IDisposable
{
    private readonly BundleFixture _fx = new();

    public BuildFoldersTests() => Environment.SetEnvironmentVariable("SOURCE_DATE_EPOCH", BundleFixture.Epoch.ToString(CultureInfo.InvariantCulture));

    public void Dispose() => _fx.Dispose();

    [ToolFact("cc", "make", "flock")]
    public async Task GivenAnotherBuildHoldingTheStateFolder_WhenBuilding_ThenExit2NamesTheHolderAndNothingIsWritten()
    {
        var line = await _fx.CommandLineAsync();
        Assert.True(CliRunner.Run([.. line]).ExitCode == 0);
        var manifest = File.ReadAllBytes(Path.Combine(_fx.Out(), "manifest.json"));
        // Another build (a process of its own) holds the state folder's lock, and says who it is beside it.
        var lockFile = Path.Combine(_fx.State, ".kbundle.lock");
        File.WriteAllText(lockFile + ".holder", "pid 4242 on host build-07, started 2026-01-01T10:00:00Z\n");
        using var holder = ProcessRunner.Start("flock", ["--exclusive", lockFile, "sleep", "120"]);
        for (var i = 0; i < 50 && !HeldByOther(lockFile); i++)
            await Task.Delay(100);
        File.Delete(Path.Combine(_fx.Out(), "SHA256SUMS"));

        var result = CliRunner.Run([.. line]);

        Assert.True(result.ExitCode == 2, result.All);
        Assert.True(result.Error.Contains($"{_fx.State} is in use by another build (pid 4242 on host build-07, started 2026-01-01T10:00:00Z)", StringComparison.Ordinal), result.Error);
        Assert.DoesNotContain("   at ", result.All, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_fx.Out(), "SHA256SUMS")));
        Assert.Equal(manifest, File.ReadAllBytes(Path.Combine(_fx.Out(), "manifest.json")));
    }

    [ToolFact("cc", "make")]
    public async Task GivenABuildInThisProcess_WhenASecondStartsOnTheSameOutput_ThenItExits2NamingPidHostAndStartAndTheFolderHoldsNoLockAfter()
    {
        var line = await _fx.CommandLineAsync(stateDir: Path.Combine(_fx.Root, "state-a"));

        CliRunner.Result refused;
        using (BuildLock.Acquire(_fx.Out(), "output folder"))
            refused = CliRunner.Run([.. line]);
        var built = CliRunner.Run([.. line]);

        Assert.True(refused.ExitCode == 2, refused.All);
        Assert.True(refused.Error.Contains($"{_fx.Out()} is in use by another build (pid {Environment.ProcessId} on host {Environment.MachineName}, started ", StringComparison.Ordinal), refused.Error);
        Assert.True(built.ExitCode == 0, built.All);
        var left = Directory.EnumerateFileSystemEntries(_fx.Out()).Select(Path.GetFileName).ToList();
        Assert.Contains("SHA256SUMS", left);
        Assert.DoesNotContain(left, f => f!.StartsWith('.'));
    }

    public static TheoryData<string, string, string> Nested => new()
    {
        { "state inside out", "out", "out/state" },
        { "out inside state", "state/artifacts", "state" },
        { "the same folder", "both", "both" },
    };

    [Theory]
    [MemberData(nameof(Nested))]
    public async Task GivenStateAndOutputFoldersInsideEachOther_WhenBuilding_ThenExit2BeforeAnythingIsWritten(string why, string outDir, string stateDir)
    {
        var line = await _fx.CommandLineAsync(Path.Combine(_fx.Root, "x", outDir), Path.Combine(_fx.Root, "x", stateDir));

        var result = CliRunner.Run([.. line]);

        Assert.True(result.ExitCode == 2, why + ": " + result.All);
        Assert.Contains("keys must never land beside the bundles", result.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_fx.Root, "x")), why);
    }

    [Fact]
    public void GivenNoStateOption_ThenTheStateFolderIsBesideTheSiteFileWhateverTheWorkingFolder()
    {
        var site = Path.Combine(_fx.Root, "sites", "lab", "site.yaml");

        var state = new BuildOptions { SitePath = site }.ResolveStateDir("lab");

        Assert.Equal(Path.Combine(_fx.Root, "sites", "lab", "state", "lab"), state);
    }

    [Fact]
    public void GivenOnlyALegacyStateFolderInTheWorkingFolder_ThenItIsStillUsedAndNamed()
    {
        var site = Path.Combine(_fx.Root, "sites", "lab", "site.yaml");
        var work = Path.Combine(_fx.Root, "repo");
        Directory.CreateDirectory(Path.Combine(work, "state", "lab"));
        File.WriteAllText(Path.Combine(work, "state", "lab", "ca.crt"), "");

        var options = new BuildOptions { SitePath = site };
        var state = options.ResolveStateDir("lab", work);
        var fresh = options.ResolveStateDir("lab", Path.Combine(_fx.Root, "elsewhere"));

        Assert.Equal(Path.Combine(work, "state", "lab"), state);
        Assert.Equal(Path.Combine(_fx.Root, "sites", "lab", "state", "lab"), fresh);
    }

    [ToolFact("cc", "make")]
    public async Task GivenBundlesSignedByAnotherKey_WhenABuildWouldMakeANewCa_ThenExit2UnlessNewCluster()
    {
        Assert.Equal(0, CliRunner.Run([.. await _fx.CommandLineAsync(stateDir: Path.Combine(_fx.Root, "state-a"))]).ExitCode);
        var line = await _fx.CommandLineAsync(stateDir: Path.Combine(_fx.Root, "state-b"));
        var manifest = File.ReadAllBytes(Path.Combine(_fx.Out(), "manifest.json"));

        var refused = CliRunner.Run([.. line]);
        var unchanged = File.ReadAllBytes(Path.Combine(_fx.Out(), "manifest.json"));
        var caMade = File.Exists(Path.Combine(_fx.Root, "state-b", "ca.crt"));
        var forced = CliRunner.Run([.. line, "--new-cluster"]);

        Assert.True(refused.ExitCode == 2, refused.All);
        Assert.Contains("holds bundles signed by another key", refused.Error, StringComparison.Ordinal);
        Assert.Contains("--new-cluster", refused.Error, StringComparison.Ordinal);
        Assert.False(caMade);
        Assert.Equal(manifest, unchanged);
        Assert.True(forced.ExitCode == 0, forced.All);
        Assert.Equal(File.ReadAllText(Path.Combine(_fx.Root, "state-b", "signing.pub")), File.ReadAllText(Path.Combine(_fx.Out(), "signing.pub")));
    }

    private static bool HeldByOther(string path)
    {
        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }
}
