using Bundler.Configuration;
using Bundler.Nginx;
using Bundler.Tests.Cli;
using Bundler.Tests.Fetch;
using Bundler.Tests.Render.Escaping;

namespace Bundler.Tests.Render;

/// <summary>
/// The render step as a user meets it: a literal <c>kbundle build ... --templates DIR --until render</c>. The world
/// is the fetch tests' one etcd+master node with generated binaries in a mirror folder, plus a stand-in nginx source
/// archive; kube-nginx is a cache hit (a stand-in binary under the cache key the real build would use), so no
/// compiler runs, but the nginx step still asks for cc and make as it does on a real build machine.
/// </summary>
public sealed class RenderCommandLineTests : IDisposable
{
    private readonly FetchWorld _world = new();

    public void Dispose() => _world.Dispose();

    [ToolFact("cc", "make")]
    public async Task GivenAnOverlayTemplateWithAnUnknownVariable_WhenBuildingUntilRender_ThenExit2NamesTheTemplateLineAndColumn()
    {
        var line = await PrepareAsync();
        var good = Overlay("good", "# etcd on {{ node.name }}\n[Service]\nExecStart={{ paths.binDir }}/etcd --name={{ node.name }}\n");
        var bad = Overlay("bad", "# etcd on {{ node.name }}\n[Service]\nExecStart={{ paths.binDir }}/etcd --name={{ node.nmae }}\n");

        var rendered = CliRunner.Run([.. line, "--templates", good, "--out", _world.Root + "/out-good"]);
        var refused = CliRunner.Run([.. line, "--templates", bad, "--out", _world.Root + "/out-bad"]);

        Assert.True(rendered.ExitCode == ExitCodes.Success, rendered.All);
        Assert.Contains("rendered", rendered.All, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.UsageError, refused.ExitCode);
        Assert.True(refused.Error.Contains($"{Path.Combine(bad, "units", "etcd.service.sbn")}:3:50: ", StringComparison.Ordinal), refused.Error);
        Assert.Contains("nmae", refused.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", refused.All, StringComparison.Ordinal);
    }

    [ToolFact("cc", "make")]
    public async Task GivenAnOverlayTemplateThatPlacesAValueWhereItsFormatCannotCarryIt_WhenBuildingUntilRender_ThenExit2NamesTheTemplateLine()
    {
        var line = await PrepareAsync();
        // A space is no part of a node name the site allows, so the overlay builds one: the render must refuse it on its own.
        var bad = Overlay("bad", "[Service]\nWorkingDirectory={{ paths.etcdDataDir + ' ' + node.name }}\n");

        var refused = CliRunner.Run([.. line, "--templates", bad, "--out", _world.Root + "/out"]);

        Assert.Equal(ExitCodes.UsageError, refused.ExitCode);
        Assert.True(refused.Error.Contains($"{Path.Combine(bad, "units", "etcd.service.sbn")}:2:21: ", StringComparison.Ordinal), refused.Error);
        Assert.Contains("WorkingDirectory=", refused.Error, StringComparison.Ordinal);
    }

    /// <summary>The command line (without --templates and --out), with the mirror folder, the lock and the kube-nginx cache entry ready.</summary>
    private async Task<string[]> PrepareAsync()
    {
        var mirror = Path.Combine(_world.Root, "mirror");
        Directory.CreateDirectory(mirror);
        var binaries = FetchWorld.EtcdArchive();
        await File.WriteAllBytesAsync(Path.Combine(mirror, "release.tar.gz"), binaries);
        var source = FetchWorld.TarGz(("nginx-9.9.9/configure", "#!/bin/sh\n"u8.ToArray(), (UnixFileMode)0b111_101_101));
        await File.WriteAllBytesAsync(Path.Combine(mirror, "nginx-9.9.9.tar.gz"), source);
        var lockPath = _world.WriteLock(
            FetchWorld.EtcdLockEntry("https://example.invalid/release.tar.gz", FetchWorld.Sha256(binaries)),
            "  - name: nginx\n    version: 9.9.9\n    arch: any\n    kind: source\n" +
            $"    url: https://example.invalid/nginx-9.9.9.tar.gz\n    sha256: {FetchWorld.Sha256(source)}\n");
        var site = _world.WriteSite();

        var machine = NginxBuilder.MachineArch!.Value;
        var toolchain = await NginxToolchain.FindAsync(machine, machine, ProcessRunner.Find);
        var artifact = LockFile.Load(lockPath).Artifacts.Single(a => a.Name == "nginx");
        var cached = Path.Combine(_world.CacheDir, "nginx", NginxBuilder.CacheKey(artifact, toolchain), NginxBuilder.BinaryName);
        Directory.CreateDirectory(Path.GetDirectoryName(cached)!);
        await File.WriteAllTextAsync(cached, "#!/bin/sh\n");

        return ["build", site, "--pins", lockPath, "--mirror", mirror, "--offline", "--cache", _world.CacheDir,
                "--state", Path.Combine(_world.Root, "state"), "--until", "render"];
    }

    private string Overlay(string name, string etcdUnit)
    {
        var dir = Path.Combine(_world.Root, name);
        Directory.CreateDirectory(Path.Combine(dir, "units"));
        File.WriteAllText(Path.Combine(dir, "units", "etcd.service.sbn"), etcdUnit);
        return dir;
    }
}
