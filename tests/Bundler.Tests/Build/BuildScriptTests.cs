namespace Bundler.Tests.Build;

/// <summary>
/// build.sh as a user types it: the Cake bootstrap (tool restore, build/build.cake). Only cheap runs here (no
/// compile: --no-build, --help, a bad target); the end-to-end test runs the real Bundle target.
/// </summary>
public class BuildScriptTests
{
    private static readonly string Configuration =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";

    private static ProcessResult BuildSh(params string[] arguments) =>
        ProcessRunner.RunAsync("bash", [Path.Combine(TestPaths.Repository, "build.sh"), .. arguments], TestPaths.Repository)
            .GetAwaiter().GetResult();

    [Fact]
    public void GivenHelp_WhenBuildShRuns_ThenItNamesEveryTargetAndOptionAndExits0()
    {
        var result = BuildSh("--help");

        Assert.True(result.ExitCode == 0, result.Tail());
        foreach (var word in new[] { "Bundle", "Test", "Publish", "Bench", "Clean", "--site", "--configuration", "--no-build", "--runtime", "--filter" })
            Assert.Contains(word, result.StandardOutput);
        Assert.Contains("N passed, N failed, N skipped", result.StandardOutput);
    }

    [Fact]
    public void GivenAnUnknownTarget_WhenBuildShRuns_ThenExit2AndTheErrorNamesTheTargets()
    {
        var result = BuildSh("--target", "Bundel");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("unknown target 'Bundel'; targets: Bench, Bundle, Clean, Compile, Publish, Test", result.StandardError);
    }

    [Fact]
    public void GivenKbundleOptions_WhenBundleRuns_ThenEachReachesKbundleBuildAndItsExitCodeIsKept()
    {
        using var dir = new TempDir();
        var site = dir.File("site.yaml");
        File.Copy(TestPaths.ExampleSite, site);

        // --batch stands for an option kbundle build does not have yet: it must reach kbundle unchanged.
        var result = BuildSh("--target", "Bundle", "--no-build", "--configuration", Configuration, "--site", site,
            "--mirror", "http://127.0.0.1:9/", "--mirror", dir.File("carried in"), "--offline", "--out", dir.File("out"), "--batch", "5");

        Assert.Equal(2, result.ExitCode);   // kbundle's usage error, not Cake's 1
        Assert.Contains($"kbundle.dll build \"{site}\" --mirror \"http://127.0.0.1:9/\" --mirror \"{dir.File("carried in")}\" --offline " +
                        $"--out \"{dir.File("out")}\" --batch \"5\"", result.StandardOutput);
        Assert.Contains("Unrecognized command or argument '--batch'", result.StandardError);
        Assert.Contains("kbundle build exited with code 2", result.StandardError);
        Assert.Matches(@"Compile\s+-\s+Skipped\s+--no-build", result.StandardOutput);
        Assert.Equal(["site.yaml"], dir.Listing());
    }
}
