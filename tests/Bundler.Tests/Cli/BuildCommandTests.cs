namespace Bundler.Tests.Cli;

public class BuildCommandTests
{
    [Fact]
    public void GivenABadSite_WhenBuilt_ThenExit2AndNothingIsWritten()
    {
        using var dir = new TempDir();
        var site = dir.File("site.yaml");
        File.Copy(TestPaths.TestData("Configuration", "bad", "09-bad-ip.yaml"), site);

        var result = CliRunner.Run("build", site, "--state", dir.File("state"), "--out", dir.File("out"), "--cache", dir.File("cache"));

        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        Assert.Contains("nodes[0].ip", result.Error);
        Assert.Equal(["site.yaml"], dir.Listing());
    }

    [Fact]
    public void GivenAMissingTemplatesFolder_WhenBuilt_ThenExit2BeforeAnyStep()
    {
        using var dir = new TempDir();

        var result = CliRunner.Run("build", TestPaths.ExampleSite, "--templates", dir.File("nope"), "--out", dir.File("out"));

        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        Assert.Contains("--templates", result.Error);
        Assert.Empty(dir.Listing());
    }
}
