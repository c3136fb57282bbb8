using Bundler.Tests.Fetch;

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

    [Fact]
    public async Task GivenNoSourceHasAnArtifact_WhenBuilt_ThenExit1NamesTheUrlWithoutAStackTrace()
    {
        using var world = new FetchWorld();
        await using var server = new TestHttpServer(TestHttpServer.Files(new Dictionary<string, byte[]>()));
        var lockPath = world.WriteLock(FetchWorld.EtcdLockEntry($"{server.BaseUrl}/etcd.tar.gz", new string('0', 64)));
        var site = world.WriteSite();

        var result = CliRunner.Run("build", site, "--pins", lockPath, "--cache", world.CacheDir,
            "--state", Path.Combine(world.Root, "state"), "--out", Path.Combine(world.Root, "out"));

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Contains($"error: etcd 9.0.0 amd64: ", result.Error);
        Assert.Contains($"{server.BaseUrl}/etcd.tar.gz: 404 NotFound", result.Error);
        Assert.DoesNotContain("FetchException", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
    }
}
