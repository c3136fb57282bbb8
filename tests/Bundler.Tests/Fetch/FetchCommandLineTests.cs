using Bundler.Cli;
using Xunit;

namespace Bundler.Tests.Fetch;

/// <summary>The fetch step as a user meets it: a literal `kbundle build ... --until fetch` and its exit code.</summary>
public sealed class FetchCommandLineTests : IDisposable
{
    private readonly FetchWorld _world = new();

    public void Dispose() => _world.Dispose();

    private async Task<(int Code, string Out, string Error)> Kbundle(string line)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await global::Bundler.Cli.Cli.RunAsync(line.Split(' '), new CliOutput(output, error, interactive: false));
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task GivenOfflineAndAnEmptyCache_WhenBuildingUntilFetch_ThenExitCode2NamesTheMissingFile()
    {
        var archive = FetchWorld.EtcdArchive();
        var lockPath = _world.WriteLock(FetchWorld.EtcdLockEntry("https://example.invalid/release.tar.gz", FetchWorld.Sha256(archive)));
        var site = _world.WriteSite();

        var (code, _, error) = await Kbundle($"build {site} --pins {lockPath} --cache {_world.CacheDir} --offline --until fetch");

        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains("etcd 9.0.0 amd64: release.tar.gz (https://example.invalid/release.tar.gz)", error);
    }

    [Fact]
    public async Task GivenATamperedFileInAMirrorFolder_WhenBuildingUntilFetch_ThenExitCode4()
    {
        var archive = FetchWorld.EtcdArchive();
        var mirror = Path.Combine(_world.Root, "mirror");
        Directory.CreateDirectory(mirror);
        File.WriteAllBytes(Path.Combine(mirror, "release.tar.gz"), FetchWorld.EtcdArchive(marker: "!"));
        var lockPath = _world.WriteLock(FetchWorld.EtcdLockEntry("https://example.invalid/release.tar.gz", FetchWorld.Sha256(archive)));
        var site = _world.WriteSite();

        var (code, _, error) = await Kbundle($"build {site} --pins {lockPath} --cache {_world.CacheDir} --mirror {mirror} --offline --until fetch");

        Assert.Equal(ExitCodes.IntegrityError, code);
        Assert.Contains("checksum mismatch", error);
        Assert.Empty(_world.CacheEntries());
    }

    [Fact]
    public async Task GivenTheFileInAMirrorFolder_WhenBuildingUntilFetch_ThenExitCode0AndTheFetchStepSucceeded()
    {
        var archive = FetchWorld.EtcdArchive();
        var mirror = Path.Combine(_world.Root, "mirror");
        Directory.CreateDirectory(mirror);
        File.WriteAllBytes(Path.Combine(mirror, "release.tar.gz"), archive);
        var lockPath = _world.WriteLock(FetchWorld.EtcdLockEntry("https://example.invalid/release.tar.gz", FetchWorld.Sha256(archive)));
        var site = _world.WriteSite();

        var (code, output, error) = await Kbundle($"build {site} --pins {lockPath} --cache {_world.CacheDir} --mirror {mirror} --offline --until fetch");

        Assert.True(code == ExitCodes.Success, output + error);
        Assert.Contains($"fetch: 1 artifact(s) verified, {FetchWorld.NodeBinaries.Count} file(s) ready", output);
    }
}
