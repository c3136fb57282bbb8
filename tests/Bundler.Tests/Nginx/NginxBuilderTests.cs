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
    public async Task GivenAnNginxArchiveWithoutAConfigureScript_WhenBuilding_ThenTheErrorNamesTheArchive()
    {
        var archive = Path.Combine(_world.Root, "nginx-1.22.1.tar.gz");
        var mode = (UnixFileMode)0b110_100_100;
        File.WriteAllBytes(archive, FetchWorld.TarGz(
            ("nginx-1.22.1/README", "nginx\n"u8.ToArray(), mode),
            ("nginx-1.22.1/src/core/nginx.c", "int main(void) { return 0; }\n"u8.ToArray(), mode)));
        var source = Source() with { ArchivePath = archive };

        var error = await Assert.ThrowsAsync<UserInputException>(() =>
            new NginxBuilder(_world.CacheDir, new RecordingReporter()).BuildAsync(source, [NginxBuilder.MachineArch!.Value], CancellationToken.None));

        Assert.Contains("nginx-1.22.1.tar.gz", error.Message);
        Assert.Contains("no configure script", error.Message);
        Assert.Empty(Directory.EnumerateDirectories(Path.Combine(_world.CacheDir, "nginx")));
    }

    /// <summary>
    /// Two builds sharing a cache compile the same key at once (CI's end-to-end tests do; so do two sites on one build
    /// host). kube-nginx is not byte-reproducible, so the entry the first one published must stay: the other build's
    /// bundles, and every later build's, then carry the same binary. Here "make" copies a static busybox as the build's
    /// result and, before it ends, publishes another binary under the key, as the other build would.
    /// </summary>
    [ToolFact("busybox", "cc", "make")]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task GivenAnotherBuildPublishedTheSameKeyWhileThisOneCompiled_WhenItFinishes_ThenThePublishedBinaryStaysAndThisBuildUsesIt()
    {
        var archive = Path.Combine(_world.Root, "nginx-1.22.1.tar.gz");
        File.WriteAllBytes(archive, FetchWorld.TarGz(("nginx-1.22.1/configure", "#!/bin/sh\nmkdir -p objs\n"u8.ToArray(), (UnixFileMode)0b111_101_101)));
        var source = Source() with { ArchivePath = archive };
        var busybox = ProcessRunner.Find("busybox")!;
        var machine = NginxBuilder.MachineArch!.Value;
        var key = NginxBuilder.CacheKey(source.Artifact, await NginxToolchain.FindAsync(machine, machine, ProcessRunner.Find));
        var published = Path.Combine(_world.CacheDir, "nginx", key, NginxBuilder.BinaryName);
        var make = Path.Combine(_world.Root, "make");
        File.WriteAllText(make, $"#!/bin/sh\ncp '{busybox}' objs/nginx\nmkdir -p '{Path.GetDirectoryName(published)}'\n" +
                                $"{{ cat '{busybox}'; printf 'published by the other build'; }} > '{published}'\n");
        File.SetUnixFileMode(make, (UnixFileMode)0b111_101_101);
        var reporter = new RecordingReporter();

        var outcome = (await new NginxBuilder(_world.CacheDir, reporter, tool => tool == "make" ? make : ProcessRunner.Find(tool))
            .BuildAsync(source, [machine], CancellationToken.None)).Single();

        var theirs = File.ReadAllBytes(busybox).Concat("published by the other build"u8.ToArray()).ToArray();
        Assert.Equal(theirs, File.ReadAllBytes(published));
        Assert.Equal(published, outcome.Binary);
        Assert.Equal(FetchWorld.Sha256(theirs), outcome.Provenance.BinarySha256);
        Assert.Contains(reporter.Lines, l => l.Contains("another build cached it first", StringComparison.Ordinal));
        Assert.Equal([key], Directory.EnumerateDirectories(Path.Combine(_world.CacheDir, "nginx")).Select(Path.GetFileName));
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
    public void GivenTheSameInputs_WhenComputingTheCacheKey_ThenItChangesWithSourceArchOrAnythingAboutTheToolchain()
    {
        var source = Source().Artifact;
        var native = new NginxToolchain(Arch.Amd64, "/usr/bin/make", "/usr/bin/cc", "cc 12.2.0", "x86_64-linux-gnu", null, null, null, []);
        var cross = new NginxToolchain(Arch.Arm64, "/usr/bin/make", "/usr/bin/aarch64-linux-gnu-gcc", "aarch64-linux-gnu-gcc 12.2.0",
            "aarch64-linux-gnu", "/usr/bin/qemu-aarch64-static", "qemu-aarch64 version 7.2.22", "/usr/bin/uname",
            [new ConfigureShim("cc", new string('a', 64)), new ConfigureShim("uname", new string('b', 64))]);
        var key = NginxBuilder.CacheKey(source, native);
        var crossKey = NginxBuilder.CacheKey(source, cross);

        Assert.Equal(key, NginxBuilder.CacheKey(source, native));
        Assert.NotEqual(key, crossKey);
        Assert.NotEqual(key, NginxBuilder.CacheKey(source, native with { Compiler = "cc 13.1.0" }));
        Assert.NotEqual(key, NginxBuilder.CacheKey(source, native with { Target = "x86_64-pc-linux-gnu" }));
        Assert.NotEqual(key, NginxBuilder.CacheKey(source, native with { Arch = Arch.Arm64 }));
        Assert.NotEqual(key, NginxBuilder.CacheKey(source with { Checksum = new string('0', 64) }, native));
        Assert.NotEqual(crossKey, NginxBuilder.CacheKey(source, cross with { Emulator = "qemu-aarch64 version 8.2.2" }));
        Assert.NotEqual(crossKey, NginxBuilder.CacheKey(source, cross with { Shims = [cross.Shims[0], new ConfigureShim("uname", new string('c', 64))] }));
        // Where the tools live is not what they are: the same tools elsewhere share the cache.
        Assert.Equal(crossKey, NginxBuilder.CacheKey(source, cross with { CompilerPath = "/opt/x/gcc", EmulatorPath = "/opt/x/qemu", Make = "/opt/x/make" }));
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
