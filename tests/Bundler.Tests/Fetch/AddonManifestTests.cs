using System.Text;
using Bundler.Configuration;
using Bundler.Fetch;

namespace Bundler.Tests.Fetch;

/// <summary>
/// A site's add-on manifests (SPEC §7): pinned by sha256 in the site file, fetched like artifacts (URL, cache,
/// --mirror, --offline) or read from a file beside the site file, and never handed on unverified.
/// </summary>
public sealed class AddonManifestTests : IDisposable
{
    private static readonly byte[] Manifest = Encoding.UTF8.GetBytes("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: metrics, namespace: kube-system}\n");
    private static readonly string Checksum = FetchWorld.Sha256(Manifest);
    private readonly FetchWorld _world = new();
    private readonly byte[] _binaries = FetchWorld.EtcdArchive();

    public void Dispose() => _world.Dispose();

    /// <summary>A lock whose binaries are in the mirror folder (so only the add-on can be missing), and a site with these add-ons.</summary>
    private (string Lock, string Mirror) Prepare(string addons)
    {
        var mirror = Directory.CreateDirectory(Path.Combine(_world.Root, "mirror")).FullName;
        File.WriteAllBytes(Path.Combine(mirror, "release.tar.gz"), _binaries);
        var lockPath = _world.WriteLock(FetchWorld.EtcdLockEntry("https://example.invalid/release.tar.gz", FetchWorld.Sha256(_binaries)));
        _world.WriteSite(extra: "addons:\n  - name: coredns\n" + addons);
        return (lockPath, mirror);
    }

    private static string UrlAddon(string url, string sha) =>
        $"  - name: metrics-server\n    manifest: {{ url: {url}, sha256: {sha} }}\n    images: [coredns]\n";

    [Fact]
    public async Task GivenAManifestAtAUrl_WhenFetched_ThenItsVerifiedBytesAreHandedOnAndAWarmBuildAsksNothing()
    {
        await using var server = new TestHttpServer(TestHttpServer.Files(new Dictionary<string, byte[]> { ["/components.yaml"] = Manifest }));
        var (lockPath, mirror) = Prepare(UrlAddon($"{server.BaseUrl}/components.yaml", Checksum));

        var first = await _world.FetchAsync(lockPath, mirrors: [mirror]);
        var second = await _world.FetchAsync(lockPath, mirrors: [mirror]);

        var addon = Assert.Single(first.Addons);
        Assert.Equal("metrics-server", addon.Addon.Name);
        Assert.Equal(Manifest, addon.Content);
        Assert.Equal(("metrics-server", $"{server.BaseUrl}/components.yaml", Checksum), (addon.Record.Name, addon.Record.Source, addon.Record.Sha256));
        Assert.Equal(["coredns"], addon.Record.Images);
        Assert.Equal(Manifest, Assert.Single(second.Addons).Content);
        Assert.Single(server.Requests);
        Assert.Contains(Path.Combine(_world.CacheDir, "sha256", Checksum), _world.CacheEntries());
    }

    [Fact]
    public async Task GivenAServerSendingOtherBytes_WhenFetched_ThenIntegrityFailsAndNothingIsCached()
    {
        var tampered = Encoding.UTF8.GetBytes("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: evil}\n");
        await using var server = new TestHttpServer(TestHttpServer.Files(new Dictionary<string, byte[]> { ["/components.yaml"] = tampered }));
        var (lockPath, mirror) = Prepare(UrlAddon($"{server.BaseUrl}/components.yaml", Checksum));

        var error = await Assert.ThrowsAsync<IntegrityException>(() => _world.FetchAsync(lockPath, mirrors: [mirror]));

        Assert.Contains("add-on metrics-server manifest any: checksum mismatch", error.Message, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.IntegrityError, ExitCodes.For(error));
        Assert.DoesNotContain(Path.Combine(_world.CacheDir, "sha256", Checksum), _world.CacheEntries());
    }

    [Fact]
    public async Task GivenOfflineAndTheManifestNowhere_WhenFetched_ThenExit2NamesTheAddOnAndItsUrl()
    {
        var (lockPath, mirror) = Prepare(UrlAddon("https://example.invalid/v0.8/components.yaml", Checksum));

        var error = await Assert.ThrowsAsync<UserInputException>(() => _world.FetchAsync(lockPath, mirrors: [mirror], offline: true));

        Assert.Contains("--offline: 1 artifact(s) are not in", error.Message, StringComparison.Ordinal);
        Assert.Contains("  add-on metrics-server manifest any: components.yaml (https://example.invalid/v0.8/components.yaml)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenTheManifestCarriedInAMirrorFolder_WhenFetchedOffline_ThenItIsTakenFromThereByItsFileName()
    {
        var (lockPath, mirror) = Prepare(UrlAddon("https://example.invalid/v0.8/components.yaml", Checksum));
        File.WriteAllBytes(Path.Combine(mirror, "components.yaml"), Manifest);

        var result = await _world.FetchAsync(lockPath, mirrors: [mirror], offline: true);

        Assert.Equal(Manifest, Assert.Single(result.Addons).Content);
    }

    [Fact]
    public async Task GivenAManifestFileBesideTheSite_WhenItsBytesMatch_ThenTheyAreHandedOnAndWhenTheyChange_ThenIntegrityFails()
    {
        Directory.CreateDirectory(Path.Combine(_world.Root, "addons"));
        var file = Path.Combine(_world.Root, "addons", "dashboard.yaml");
        File.WriteAllBytes(file, Manifest);
        var (lockPath, mirror) = Prepare($"  - name: dashboard\n    manifest: {{ file: addons/dashboard.yaml, sha256: {Checksum} }}\n");

        var result = await _world.FetchAsync(lockPath, mirrors: [mirror]);
        File.AppendAllText(file, "# edited after it was pinned\n");
        var error = await Assert.ThrowsAsync<IntegrityException>(() => _world.FetchAsync(lockPath, mirrors: [mirror]));

        Assert.Equal(Manifest, Assert.Single(result.Addons).Content);
        Assert.Equal("addons/dashboard.yaml", result.Addons[0].Record.Source);
        Assert.Contains("add-on dashboard: the manifest addons/dashboard.yaml does not match the site file's sha256", error.Message, StringComparison.Ordinal);
        Assert.Contains($"expected sha256 {Checksum}", error.Message, StringComparison.Ordinal);
    }
}
