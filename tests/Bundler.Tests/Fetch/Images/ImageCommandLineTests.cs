using Bundler.Cli;
using Bundler.Configuration;

namespace Bundler.Tests.Fetch.Images;

/// <summary>Images as a user meets them: a literal `kbundle build ... --until fetch` and its exit code.</summary>
[Collection(RegistryCollection.Name)]
public sealed class ImageCommandLineTests(RegistryWorld fixture) : IDisposable
{
    private readonly FetchWorld _world = new();

    public void Dispose() => _world.Dispose();

    private static async Task<(int Code, string Out, string Error)> Kbundle(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await global::Bundler.Cli.Cli.RunAsync(args, new CliOutput(output, error, interactive: false));
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>A site that ships the image 'busybox' (images: [busybox]), a lock whose binaries come from a mirror folder, and the given entries of images:.</summary>
    private (string Site, string Lock, string Mirror) Build(string images)
    {
        var archive = FetchWorld.EtcdArchive();
        var mirror = Directory.CreateDirectory(Path.Combine(_world.Root, "mirror")).FullName;
        File.WriteAllBytes(Path.Combine(mirror, "release.tar.gz"), archive);
        var lockPath = _world.WriteLock(FetchWorld.EtcdLockEntry("https://example.invalid/release.tar.gz", FetchWorld.Sha256(archive)));
        File.AppendAllText(lockPath, images);
        return (_world.WriteSite(extra: "images: [busybox]\n"), lockPath, mirror);
    }

    private static string Entry(string reference, string? digest) =>
        $"  - name: busybox\n    ref: {reference}\n" + (digest is null ? "" : $"    digest: {digest}\n");

    [Fact]
    public async Task GivenAnImagePinnedByTagOnly_WhenBuilding_ThenExitCode2NamesTheEntry()
    {
        var (site, lockPath, mirror) = Build(Entry("registry.example.invalid/test/busybox:v1", null));

        var (code, _, error) = await Kbundle("build", site, "--pins", lockPath, "--cache", _world.CacheDir, "--mirror", mirror, "--out", _world.OutDir, "--until", "fetch");

        var line = File.ReadAllLines(lockPath).ToList().IndexOf("  - name: busybox") + 1;
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains($"{lockPath}:{line}:5 images[2].digest: 'registry.example.invalid/test/busybox:v1' has no digest: a tag alone is refused", error);
    }

    [Fact]
    public async Task GivenAMalformedRegistryMirror_WhenBuilding_ThenExitCode2SaysWhatIsAllowed()
    {
        var (site, lockPath, mirror) = Build(Entry("registry.example.invalid/test/busybox:v1", "sha256:" + new string('a', 64)));

        var (code, _, error) = await Kbundle("build", site, "--pins", lockPath, "--mirror", mirror, "--registry-mirror", "https://mirror.example.org", "--out", _world.OutDir, "--until", "fetch");

        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains("--registry-mirror https://mirror.example.org: is not REGISTRY=URL; allowed: REGISTRY=URL", error);
    }

    [Fact]
    public async Task GivenOfflineAndAnImageInNoLocalSource_WhenBuilding_ThenExitCode2NamesTheImage()
    {
        var digest = "sha256:" + new string('a', 64);
        var (site, lockPath, mirror) = Build(Entry("registry.example.invalid/test/busybox:v1", digest));

        var (code, _, error) = await Kbundle("build", site, "--pins", lockPath, "--cache", _world.CacheDir, "--mirror", mirror, "--offline", "--out", _world.OutDir, "--until", "fetch");

        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains($"  busybox: registry.example.invalid/test/busybox:v1@{digest} (busybox pinned blob {digest} is missing)", error);
    }

    [RegistryFact]
    public async Task GivenAnOCILayoutCarriedIn_WhenBuildingOffline_ThenExitCode0AndTheImageIsVerified()
    {
        var world = await fixture.StartAsync();
        var (site, lockPath, mirror) = Build(Entry("registry.example.invalid/test/busybox:v1", world.Layout.Index));
        var copy = await LocalRegistry.Skopeo(["copy", "--all", "--preserve-digests", "--quiet", $"oci:{world.Layout.Dir}:{OciTestLayout.Tag}", $"oci:{Path.Combine(mirror, "oci")}:busybox"]);
        Assert.True(copy.Succeeded, copy.Tail());

        var (code, output, error) = await Kbundle("build", site, "--pins", lockPath, "--cache", _world.CacheDir, "--mirror", mirror, "--offline", "--out", _world.OutDir, "--until", "fetch");

        Assert.True(code == ExitCodes.Success, output + error);
        // busybox from the layout, the sandbox and CoreDNS stand-ins from the cache: 4 blobs each.
        Assert.Contains("fetch: 3 image(s) verified for linux/amd64: 12 blob(s)", output);
        Assert.True(File.Exists(Path.Combine(_world.CacheDir, "blobs", "sha256", world.Layout.Platforms[Arch.Amd64].Layer["sha256:".Length..])));
    }

    [Fact]
    public async Task GivenALockImageTheSiteDoesNotUse_WhenBuildingOffline_ThenItIsNeitherFetchedNorMissed()
    {
        var (site, lockPath, mirror) = Build(Entry("registry.example.invalid/test/busybox:v1", "sha256:" + new string('a', 64)));
        File.WriteAllText(site, File.ReadAllText(site).Replace("images: [busybox]\n", "", StringComparison.Ordinal));

        var (code, output, error) = await Kbundle("build", site, "--pins", lockPath, "--cache", _world.CacheDir, "--mirror", mirror, "--offline", "--out", _world.OutDir, "--until", "fetch");

        Assert.True(code == ExitCodes.Success, output + error);
        Assert.Contains("fetch: 2 image(s) verified for linux/amd64: 8 blob(s)", output);
    }

    [RegistryFact]
    public async Task GivenARegistryMirror_WhenBuilding_ThenExitCode0AndTheImageCameFromTheMirror()
    {
        var world = await fixture.StartAsync();
        var (site, lockPath, mirror) = Build(Entry("registry.example.invalid/test/busybox:v1", world.Layout.Index));

        var (code, output, error) = await Kbundle("build", site, "--pins", lockPath, "--cache", _world.CacheDir, "--mirror", mirror,
            "--registry-mirror", $"registry.example.invalid={world.Registry.Url}", "--out", _world.OutDir, "--until", "fetch");

        Assert.True(code == ExitCodes.Success, output + error);
        Assert.Contains("fetch: 3 image(s) verified for linux/amd64: 12 blob(s)", output);
        Assert.True(File.Exists(Path.Combine(_world.CacheDir, "blobs", "sha256", world.Layout.Platforms[Arch.Amd64].Layer["sha256:".Length..])));
    }

    [RegistryFact]
    public async Task GivenARegistryServingATamperedConfig_WhenBuilding_ThenExitCode4AndNothingTamperedIsCached()
    {
        var world = await fixture.StartAsync();
        var config = world.Layout.Platforms[Arch.Amd64].Config;
        await using var front = new TestHttpServer(async (request, stream, ct) =>
        {
            var answer = await RegistryProxy.GetAsync(world.Registry, request, ct);
            var body = request.Path.EndsWith(config, StringComparison.Ordinal) ? answer.Body.Select((b, i) => i == 2 ? (byte)(b ^ 1) : b).ToArray() : null;
            await RegistryProxy.WriteAsync(stream, answer, ct, body);
        });
        var (site, lockPath, mirror) = Build(Entry($"{front.Host}/test/busybox:v1", world.Layout.Index));

        var (code, _, error) = await Kbundle("build", site, "--pins", lockPath, "--cache", _world.CacheDir, "--mirror", mirror, "--out", _world.OutDir, "--until", "fetch");

        Assert.Equal(ExitCodes.IntegrityError, code);
        Assert.Contains("busybox linux/amd64 config", error);
        Assert.Contains("digest mismatch", error);
        Assert.False(File.Exists(Path.Combine(_world.CacheDir, "blobs", "sha256", config["sha256:".Length..])));
    }
}
