using System.Text;
using Bundler.Configuration;

namespace Bundler.Tests.Fetch.Images;

/// <summary>The fetch step hands on the lock's images with the blobs of the site's arches.</summary>
public sealed class ImageFetchStepTests : IDisposable
{
    private readonly FetchWorld _world = new();

    public void Dispose() => _world.Dispose();

    [Fact]
    public async Task GivenALockWithAnImageAndItsLayoutCarriedIn_WhenTheFetchStepRunsOffline_ThenTheResultHoldsTheSiteArchBlobs()
    {
        var mirror = Directory.CreateDirectory(Path.Combine(_world.Root, "mirror")).FullName;
        var layout = OciTestLayout.Build(Path.Combine(mirror, "oci"), Encoding.UTF8.GetBytes("stand-in"));
        var archive = FetchWorld.EtcdArchive();
        File.WriteAllBytes(Path.Combine(mirror, "release.tar.gz"), archive);
        var lockPath = _world.WriteLock(FetchWorld.EtcdLockEntry("https://example.invalid/release.tar.gz", FetchWorld.Sha256(archive)));
        File.AppendAllText(lockPath, $"  - name: busybox\n    ref: registry.example.invalid/test/busybox:v1\n    digest: {layout.Index}\n");
        _world.WriteSite(extra: "images: [busybox]\n");

        var result = await _world.FetchAsync(lockPath, mirrors: [mirror], offline: true, settings: RegistryWorld.Settings);

        // Lock order: the sandbox image and CoreDNS (every kubelet node; the default add-on), then the site's own.
        Assert.Equal(["pause", "coredns", "busybox"], result.Images.Select(i => i.Pin.Name));
        var image = result.ImageFor("busybox");
        Assert.Equal(("busybox", layout.Index), (image.Pin.Name, image.Root.Digest));
        Assert.Equal([Arch.Amd64], image.Platforms.Keys);
        Assert.Equal([layout.Index, layout.Platforms[Arch.Amd64].Manifest, layout.Platforms[Arch.Amd64].Config, layout.Platforms[Arch.Amd64].Layer],
            image.BlobsFor(Arch.Amd64).Select(b => b.Digest));
        Assert.All(image.BlobsFor(Arch.Amd64), b => Assert.StartsWith(Path.Combine(_world.CacheDir, "blobs", "sha256"), b.LocalPath));
        Assert.Contains(_world.Reporter.Lines, l => l.StartsWith("fetch: 3 image(s) verified for linux/amd64: 12 blob(s)", StringComparison.Ordinal));
        Assert.Throws<UserInputException>(() => result.ImageFor("metrics-server"));
    }
}
