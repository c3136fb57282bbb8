using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Nginx;
using Bundler.Pipeline;
using Bundler.Tests.Fetch;
using Xunit;

namespace Bundler.Tests.Nginx;

public sealed class NginxBuilderTests : IDisposable
{
    private readonly FetchWorld _world = new();

    public void Dispose() => _world.Dispose();

    private static FetchedSource Source() => new(
        LockFile.Parse("""
            kubernetes: 1.36.0
            artifacts:
              - name: nginx
                version: 1.22.1
                arch: any
                kind: source
                url: https://nginx.org/download/nginx-1.22.1.tar.gz
                sha256: 9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31
            """, "lock.yaml").Artifacts[0],
        "/nonexistent/nginx-1.22.1.tar.gz");

    [Fact]
    public async Task GivenANodeArchOtherThanTheBuildMachine_WhenBuilding_ThenTheErrorSaysWhereToBuild()
    {
        var foreign = NginxBuilder.MachineArch == Arch.Amd64 ? Arch.Arm64 : Arch.Amd64;

        var error = await Assert.ThrowsAsync<UserInputException>(() =>
            new NginxBuilder(_world.CacheDir, new RecordingReporter()).BuildAsync(Source(), [foreign], CancellationToken.None));

        Assert.Contains($"the site has {Names.Of(foreign)} nodes", error.Message);
        Assert.Contains($"build the bundle on a {Names.Of(foreign)} machine", error.Message);
    }

    [Theory]
    [InlineData("cc", "no cc/gcc")]
    [InlineData("make", "no make")]
    public async Task GivenAMissingBuildTool_WhenBuilding_ThenTheErrorSaysWhatToInstall(string missing, string said)
    {
        var builder = new NginxBuilder(_world.CacheDir, new RecordingReporter(),
            tool => tool == missing || (missing == "cc" && tool == "gcc") ? null : ProcessRunner.Find(tool));

        var error = await Assert.ThrowsAsync<UserInputException>(() => builder.BuildAsync(Source(), [NginxBuilder.MachineArch!.Value], CancellationToken.None));

        Assert.Contains(said, error.Message);
        Assert.Contains("apt-get install gcc make libc6-dev", error.Message);
    }

    [Fact]
    public void GivenTheSameInputs_WhenComputingTheCacheKey_ThenItChangesOnlyWithSourceCompilerOrArch()
    {
        var source = Source().Artifact;
        var key = NginxBuilder.CacheKey(source, "cc 12.2.0", Arch.Amd64);

        Assert.Equal(key, NginxBuilder.CacheKey(source, "cc 12.2.0", Arch.Amd64));
        Assert.NotEqual(key, NginxBuilder.CacheKey(source, "cc 13.1.0", Arch.Amd64));
        Assert.NotEqual(key, NginxBuilder.CacheKey(source, "cc 12.2.0", Arch.Arm64));
        Assert.NotEqual(key, NginxBuilder.CacheKey(source with { Checksum = new string('0', 64) }, "cc 12.2.0", Arch.Amd64));
    }

    [Fact]
    public void GivenADynamicallyLinkedSystemBinary_WhenReadingItsElfHeaders_ThenItHasAnInterpreter()
    {
        var elf = ElfFile.Read("/bin/sh");

        Assert.False(elf.IsStatic);
        Assert.Equal(NginxBuilder.MachineArch, elf.Arch);
    }

    [Fact]
    public void GivenATextFile_WhenReadingItAsElf_ThenItIsRefused()
    {
        var path = Path.Combine(_world.Root, "not-elf");
        File.WriteAllText(path, new string('x', 100));

        Assert.Throws<InvalidDataException>(() => ElfFile.Read(path));
    }
}
