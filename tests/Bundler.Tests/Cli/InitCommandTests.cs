using Bundler.Configuration;

namespace Bundler.Tests.Cli;

public class InitCommandTests
{
    [Fact]
    public void GivenAnEmptyFolder_WhenInitRuns_ThenItWritesTheExampleSiteWhichValidates()
    {
        using var dir = new TempDir();

        var result = CliRunner.Run("init", dir.Path);

        Assert.Equal(0, result.ExitCode);
        var written = File.ReadAllText(dir.File("site.yaml"));
        Assert.Equal(File.ReadAllText(TestPaths.ExampleSite), written);
        Assert.Equal(["site.yaml"], dir.Listing());
        Assert.Equal(0, CliRunner.Run("validate", dir.File("site.yaml")).ExitCode);
        Assert.Contains("# ", ExampleSite.Text());
    }

    [Fact]
    public void GivenAnExistingSite_WhenInitRunsWithoutForce_ThenItRefusesAndKeepsTheFile()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("site.yaml"), "mine");

        var result = CliRunner.Run("init", dir.Path);

        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        Assert.Contains("already exists; pass --force", result.Error);
        Assert.Equal("mine", File.ReadAllText(dir.File("site.yaml")));
        Assert.Equal(0, CliRunner.Run("init", dir.Path, "--force").ExitCode);
        Assert.NotEqual("mine", File.ReadAllText(dir.File("site.yaml")));
    }
}
