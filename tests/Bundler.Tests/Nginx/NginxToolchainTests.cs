using Bundler.Configuration;
using Bundler.Nginx;
using Xunit;

namespace Bundler.Tests.Nginx;

/// <summary>
/// Runs only on an amd64 machine with the arm64 cross toolchain and qemu-user (what .ci/run installs). Under CI=true
/// nothing is skipped: a missing tool fails the test with the builder's own install hint.
/// </summary>
public sealed class CrossToolchainFactAttribute : FactAttribute
{
    public const string Install = "apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static";

    public CrossToolchainFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("CI") != "true" && Missing() is { } why)
            Skip = $"SKIPPED: cross-building kube-nginx for arm64 needs {why}; install: {Install}";
    }

    /// <summary>What this machine lacks for the arm64 cross build, or null.</summary>
    public static string? Missing()
    {
        if (NginxToolchain.MachineArch != Arch.Amd64)
            return "an amd64 build machine (these tests cross-build arm64)";
        var row = CrossTarget.For(Arch.Arm64);
        var lacks = new List<string>();
        if (ProcessRunner.Find(row.Compiler) is null)
            lacks.Add(row.Compiler);
        if (row.EmulatorNames.All(n => ProcessRunner.Find(n) is null))
            lacks.Add(row.EmulatorNames.First());
        // Where libc6-dev-arm64-cross puts it (the builder itself asks the compiler: -print-file-name=libc.a).
        if (!File.Exists($"/usr/{row.Triplet}/lib/libc.a"))
            lacks.Add($"/usr/{row.Triplet}/lib/libc.a");
        return lacks.Count == 0 ? null : string.Join(", ", lacks);
    }
}

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class NginxToolchainTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kbundle-toolchain-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static Arch Foreign => NginxToolchain.MachineArch == Arch.Amd64 ? Arch.Arm64 : Arch.Amd64;

    [Fact]
    public async Task GivenAForeignArchWithoutItsCrossCompiler_WhenFindingTheToolchain_ThenTheErrorNamesItAndThePackages()
    {
        var row = CrossTarget.For(Foreign);

        var error = await Assert.ThrowsAsync<UserInputException>(() =>
            NginxToolchain.FindAsync(Foreign, NginxToolchain.MachineArch, tool => tool == row.Compiler ? null : ProcessRunner.Find(tool)));

        Assert.Contains($"the site's {Names.Of(Foreign)} nodes is cross-compiled", error.Message);
        Assert.Contains($"no {row.Compiler} on PATH", error.Message);
        Assert.Contains($"apt-get install {row.CompilerPackage} {row.LibcPackage} qemu-user-static (Debian/Ubuntu)", error.Message);
        Assert.Contains("RHEL/Fedora", error.Message);
    }

    [Fact]
    public async Task GivenAForeignArchWithoutAnEmulator_WhenFindingTheToolchain_ThenTheErrorNamesQemuAndItsPackage()
    {
        var row = CrossTarget.For(Foreign);

        var error = await Assert.ThrowsAsync<UserInputException>(() =>
            NginxToolchain.FindAsync(Foreign, NginxToolchain.MachineArch, tool => row.EmulatorNames.Contains(tool) ? null : ProcessRunner.Find(tool)));

        Assert.Contains($"no {row.Emulator}-static or {row.Emulator} on PATH", error.Message);
        Assert.Contains("qemu-user-static", error.Message);
    }

    [Fact]
    public async Task GivenACrossCompilerWithoutItsStaticCLibrary_WhenFindingTheToolchain_ThenTheErrorNamesTheLibcPackage()
    {
        // A stand-in for a machine where gcc-<triplet> is installed but libc6-dev-<arch>-cross is not: a compiler that
        // cannot find libc.a answers -print-file-name=libc.a with the bare name.
        var row = CrossTarget.For(Foreign);
        var fake = Path.Combine(_root, row.Compiler);
        File.WriteAllText(fake, $$"""
            #!/bin/sh
            case "$1" in
              --version) echo "{{row.Compiler}} (stand-in) 12.2.0" ;;
              -dumpmachine) echo {{row.Triplet}} ;;
              -print-file-name=*) echo "${1#-print-file-name=}" ;;
            esac
            """);
        File.SetUnixFileMode(fake, (UnixFileMode)0b111_101_101);

        var error = await Assert.ThrowsAsync<UserInputException>(() =>
            NginxToolchain.FindAsync(Foreign, NginxToolchain.MachineArch,
                tool => tool == row.Compiler || row.EmulatorNames.Contains(tool) ? fake : ProcessRunner.Find(tool)));

        Assert.Contains($"no static C library for {row.Triplet} (libc.a)", error.Message);
        Assert.Contains($"apt-get install {row.LibcPackage}", error.Message);
    }

    [Fact]
    public async Task GivenTheBuildMachinesOwnArch_WhenFindingTheToolchain_ThenItIsTheNativeCcWithItsTripletAndNoEmulator()
    {
        var machine = NginxToolchain.MachineArch!.Value;

        var toolchain = await NginxToolchain.FindAsync(machine, machine, ProcessRunner.Find);

        Assert.False(toolchain.IsCross);
        Assert.Equal(machine == Arch.Amd64 ? "x86_64-linux-gnu" : "aarch64-linux-gnu", toolchain.Target);
        var cc = await ProcessRunner.RunAsync(ProcessRunner.Find("cc") ?? "gcc", ["--version"]);
        Assert.Equal(cc.StandardOutput.Split('\n')[0].Trim(), toolchain.Compiler);
        Assert.Null(toolchain.Emulator);
        Assert.Empty(toolchain.Shims);
    }

    [Fact]
    public async Task GivenTheEmbeddedShims_WhenCheckedWithShellcheck_ThenTheyAreCleanPosixSh()
    {
        foreach (var (name, text) in NginxToolchain.ShimScripts)
        {
            var path = Path.Combine(_root, name);
            File.WriteAllBytes(path, text);

            var check = await ProcessRunner.RunAsync("shellcheck", ["-s", "sh", path]);

            Assert.True(check.Succeeded, $"{name}: {check.Tail()}");
        }
        Assert.Equal(["cc", "uname"], NginxToolchain.ShimScripts.Keys);
    }

    [CrossToolchainFact]
    public async Task GivenTheArm64CrossToolchain_WhenConfigureCompilesAndRunsATestProgramThroughTheShims_ThenItRunsAsAarch64()
    {
        var toolchain = await NginxToolchain.FindAsync(Arch.Arm64, Arch.Amd64, ProcessRunner.Find);
        var tree = Path.Combine(_root, "tree");
        Directory.CreateDirectory(Path.Combine(tree, "objs"));
        // What the program reports comes from the kernel interface it runs on: under qemu-aarch64 that is aarch64.
        File.WriteAllText(Path.Combine(tree, "objs", "autotest.c"), """
            #include <stdio.h>
            #include <sys/utsname.h>
            int main(void) { struct utsname u; uname(&u); printf("%s %d\n", u.machine, (int) sizeof(long)); return 0; }
            """);
        File.WriteAllText(Path.Combine(tree, "objs", "unit.c"), "int unit(void) { return 1; }\n");
        var env = toolchain.PrepareEnvironment(Path.Combine(_root, "shims"));

        // As nginx's auto/feature does: compile to objs/autotest, run it through /bin/sh -c.
        var compile = await ProcessRunner.RunAsync(env["CC"], ["-o", "objs/autotest", "objs/autotest.c"], tree, env);
        var run = await ProcessRunner.RunAsync("/bin/sh", ["-c", "objs/autotest"], tree, env);
        var objectFile = await ProcessRunner.RunAsync(env["CC"], ["-c", "-o", "objs/unit.o", "objs/unit.c"], tree, env);
        var uname = await ProcessRunner.RunAsync("/bin/sh", ["-c", "uname -m; uname -s"], tree, env);

        Assert.True(compile.Succeeded, compile.Tail());
        Assert.True(run.Succeeded, run.Tail());
        Assert.Equal("aarch64 8", run.StandardOutput.Trim());
        var test = ElfFile.Read(Path.Combine(tree, "objs", "autotest.target"));
        Assert.Equal((Arch.Arm64, true), (test.Arch!.Value, test.IsStatic));
        Assert.True(objectFile.Succeeded, objectFile.Tail());
        Assert.Equal(Arch.Arm64, ElfFile.Read(Path.Combine(tree, "objs", "unit.o")).Arch);
        Assert.False(File.Exists(Path.Combine(tree, "objs", "unit.o.target")), "only configure's autotest is redirected to the emulator");
        Assert.Equal(["aarch64", "Linux"], uname.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(toolchain.IsCross);
        Assert.Equal("aarch64-linux-gnu", toolchain.Target);
        Assert.StartsWith("qemu-aarch64 version ", toolchain.Emulator, StringComparison.Ordinal);
    }
}
