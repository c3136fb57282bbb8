using System.Text.RegularExpressions;

namespace Bundler.Tests.MixedArch;

/// <summary>
/// The installer's arch check (SPEC §3) on the mixed site's real bundles: a bundle on a machine of the other arch is
/// refused before anything changes (exit 3, naming both arches). The host's arch is read from /proc/sys/kernel/arch: this
/// machine's own for "arm64 bundle here", a fake /proc (KBUNDLE_PROC_ROOT) for an aarch64 host. Every other check is
/// skipped, so the arch check alone decides; every run is --dry-run.
/// </summary>
[Collection(MixedArchCollection.Name)]
public sealed partial class ArchPreflightTests(MixedArchWorld world)
{
    /// <summary>Every preflight check but arch, from the installer's own list.</summary>
    private static string AllButArch()
    {
        var checks = PreflightChecks().Match(File.ReadAllText(Path.Combine(TestPaths.Repository, "bundle-templates", "installer", "preflight.sh"))).Groups[1].Value.Split(' ');
        Assert.Contains("arch", checks);
        return string.Join(',', checks.Where(c => c != "arch"));
    }

    private async Task<ProcessResult> DryRun(string run, string? hostMachine)
    {
        var tmp = world.Scratch("preflight");
        var env = new Dictionary<string, string> { ["TMPDIR"] = tmp, ["KBUNDLE_FAKE_UID"] = "0", ["KBUNDLE_HOSTS_FILE"] = Path.Combine(tmp, "hosts") };
        File.WriteAllText(env["KBUNDLE_HOSTS_FILE"], "127.0.0.1 localhost\n");
        if (hostMachine is not null)
        {
            Directory.CreateDirectory(Path.Combine(tmp, "proc", "proc", "sys", "kernel"));
            File.WriteAllText(Path.Combine(tmp, "proc", "proc", "sys", "kernel", "arch"), hostMachine + "\n");
            env["KBUNDLE_PROC_ROOT"] = Path.Combine(tmp, "proc");
        }
        return await ProcessRunner.RunAsync("bash", [run, "--dry-run", "--skip-preflight", AllButArch()], tmp, env);
    }

    [MixedArchFact]
    public async Task GivenTheArm64WorkersBundle_WhenRunOnThisX86_64Machine_ThenPreflightRefusesItNamingBothArchesWithExit3()
    {
        var (_, mixed, _) = await world.GetAsync();
        Assert.Equal("x86_64", File.ReadAllText("/proc/sys/kernel/arch").Trim());

        var result = await DryRun(mixed.Run("w1"), hostMachine: null);

        Assert.True(result.ExitCode == 3, result.Tail());
        Assert.Contains("arch: this host is amd64 (x86_64), the bundle is for arm64; use the bundle built for this node", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("dry run:", result.StandardOutput, StringComparison.Ordinal);
    }

    [MixedArchFact]
    public async Task GivenAnAmd64MastersBundle_WhenRunOnAnAarch64Host_ThenPreflightRefusesItNamingBothArchesWithExit3()
    {
        var (_, mixed, _) = await world.GetAsync();

        var result = await DryRun(mixed.Run("m1"), hostMachine: "aarch64");

        Assert.True(result.ExitCode == 3, result.Tail());
        Assert.Contains("arch: this host is arm64 (aarch64), the bundle is for amd64; use the bundle built for this node", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("dry run:", result.StandardOutput, StringComparison.Ordinal);
    }

    [MixedArchFact]
    public async Task GivenTheArm64WorkersBundle_WhenRunOnAnAarch64Host_ThenTheArchCheckPassesAndTheDryRunReports()
    {
        var (_, mixed, _) = await world.GetAsync();

        var onArm = await DryRun(mixed.Run("w1"), hostMachine: "aarch64");
        var amdOnAmd = await DryRun(mixed.Run("m1"), hostMachine: "x86_64");

        foreach (var result in new[] { onArm, amdOnAmd })
        {
            Assert.True(result.ExitCode == 0, result.Tail());
            Assert.DoesNotContain("arch:", result.StandardError, StringComparison.Ordinal);
            Assert.Contains("dry run: ", result.StandardOutput, StringComparison.Ordinal);
        }
    }

    [GeneratedRegex("^KB_CHECKS=\"([^\"]+)\"", RegexOptions.Multiline)]
    private static partial Regex PreflightChecks();
}
