using System.Security.Cryptography;
using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Fetch.Images;
using Bundler.Pipeline;

namespace Bundler.Tests.Fetch.Images;

/// <summary>The image fetch against a real registry (docker-registry on loopback), pushed with skopeo.</summary>
[Collection(RegistryCollection.Name)]
public sealed class ImageFetcherTests(RegistryWorld fixture) : IDisposable
{
    private static readonly Arch[] BothArches = [Arch.Amd64, Arch.Arm64];
    private readonly TempDir _temp = new("kbundle-images");
    private readonly RecordingReporter _reporter = new();

    private string CacheDir => _temp.File("cache");

    public void Dispose() => _temp.Dispose();

    private static string Sha256Of(string path) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    private IEnumerable<string> CachedBlobs() =>
        Directory.Exists(Path.Combine(CacheDir, "blobs", "sha256"))
            ? Directory.EnumerateFiles(Path.Combine(CacheDir, "blobs", "sha256")).Select(p => "sha256:" + Path.GetFileName(p))
            : [];

    private async Task<FetchedImage> FetchOneAsync(LockImage pin, IReadOnlyCollection<Arch> arches, IReadOnlyList<string>? mirrors = null,
        IReadOnlyList<RegistryMirror>? registryMirrors = null, bool offline = false)
    {
        using var fetcher = RegistryWorld.Fetcher(CacheDir, _reporter, mirrors, registryMirrors, offline);
        return Assert.Single(await fetcher.FetchAsync([new ImageRequest(pin, arches)], CancellationToken.None));
    }

    [RegistryFact]
    public async Task GivenAnIndexPinnedByDigest_WhenFetchingForBothArches_ThenEveryBlobIsVerifiedAndCachedByDigest()
    {
        var world = await fixture.StartAsync();

        var image = await FetchOneAsync(world.Pin(), BothArches);

        Assert.Equal((MediaTypes.OciIndex, world.Layout.Index, world.Layout.IndexSize), (image.Root.MediaType, image.Root.Digest, image.Root.Size));
        foreach (var arch in BothArches)
        {
            var expected = world.Layout.Platforms[arch];
            var platform = image.For(arch);
            Assert.Equal($"linux/{Names.Of(arch)}", platform.Platform.ToString());
            Assert.Equal((expected.Manifest, MediaTypes.OciManifest), (platform.Manifest.Digest, platform.Manifest.MediaType));
            Assert.Equal(expected.Config, platform.Config.Digest);
            var layer = Assert.Single(platform.Layers);
            Assert.Equal((expected.Layer, expected.LayerSize), (layer.Digest, layer.Size));
        }
        Assert.All(BothArches.SelectMany(image.BlobsFor), blob =>
        {
            Assert.Equal(Path.Combine(CacheDir, "blobs", "sha256", blob.Digest["sha256:".Length..]), blob.LocalPath);
            Assert.Equal(blob.Digest, Sha256Of(blob.LocalPath));
            Assert.Equal(blob.Size, new FileInfo(blob.LocalPath).Length);
        });
        // The amd64 layer is the real busybox layer, byte for byte as pushed: nothing was recompressed.
        Assert.Equal(File.ReadAllBytes(world.Layout.BlobPath(world.Layout.Platforms[Arch.Amd64].Layer)), File.ReadAllBytes(image.For(Arch.Amd64).Layers[0].LocalPath));
        Assert.Equal(7, CachedBlobs().Count());
    }

    [RegistryFact]
    public async Task GivenASiteWithOnlyAmd64Nodes_WhenFetching_ThenNoArm64BlobIsFetched()
    {
        var world = await fixture.StartAsync();

        var image = await FetchOneAsync(world.Pin(), [Arch.Amd64]);

        Assert.Equal([Arch.Amd64], image.Platforms.Keys);
        var arm64 = world.Layout.Platforms[Arch.Arm64];
        Assert.DoesNotContain(arm64.Manifest, CachedBlobs());
        Assert.DoesNotContain(arm64.Config, CachedBlobs());
        Assert.DoesNotContain(arm64.Layer, CachedBlobs());
        Assert.Equal(4, CachedBlobs().Count());
    }

    [RegistryFact]
    public async Task GivenAnImageWithDockerMediaTypes_WhenFetching_ThenTheManifestListAndSchema2ManifestsAreRead()
    {
        var world = await fixture.StartAsync();
        var pin = world.Pin(repository: RegistryWorld.DockerRepository, digest: world.DockerIndex);

        var image = await FetchOneAsync(pin, BothArches);

        Assert.Equal(MediaTypes.DockerManifestList, image.Root.MediaType);
        Assert.All(BothArches, arch => Assert.Equal(MediaTypes.DockerManifest, image.For(arch).Manifest.MediaType));
        Assert.Equal("application/vnd.docker.image.rootfs.diff.tar.gzip", image.For(Arch.Amd64).Layers[0].MediaType);
        Assert.Equal(world.Layout.Platforms[Arch.Amd64].Layer, image.For(Arch.Amd64).Layers[0].Digest);
    }

    [RegistryFact]
    public async Task GivenASinglePlatformManifestPin_WhenFetching_ThenItServesItsOwnArchAndIsRefusedForAnother()
    {
        var world = await fixture.StartAsync();
        var pin = world.Pin(digest: world.Layout.Platforms[Arch.Amd64].Manifest);

        var image = await FetchOneAsync(pin, [Arch.Amd64]);
        var other = await Assert.ThrowsAsync<UserInputException>(() => FetchOneAsync(pin, [Arch.Arm64]));

        Assert.Equal(MediaTypes.OciManifest, image.Root.MediaType);
        Assert.Equal([image.Root, image.For(Arch.Amd64).Config, .. image.For(Arch.Amd64).Layers], image.BlobsFor(Arch.Amd64));
        Assert.Contains("pins a single-platform image for linux/amd64, but the site has arm64 nodes", other.Message);
    }

    [RegistryFact]
    public async Task GivenADigestTheRegistryDoesNotHave_WhenFetching_ThenTheFetchFailsNamingTheImageAndNothingIsCached()
    {
        var world = await fixture.StartAsync();
        var pin = world.Pin(digest: "sha256:" + new string('0', 64));

        var error = await Assert.ThrowsAsync<FetchException>(() => FetchOneAsync(pin, [Arch.Amd64]));

        Assert.Contains($"busybox pinned blob sha256:{new string('0', 64)} ({world.Registry.Host}/test/busybox:v1): could not download", error.Message);
        Assert.Contains("404", error.Message);
        Assert.Empty(CachedBlobs());
    }

    [RegistryFact]
    public async Task GivenAWarmCache_WhenFetchingAgain_ThenNoRequestIsMade()
    {
        var world = await fixture.StartAsync();
        await using var front = new TestHttpServer((request, stream, ct) => RegistryProxy.ForwardAsync(world.Registry, request, stream, ct));
        var pin = world.Pin(registry: front.Host);
        var first = await FetchOneAsync(pin, BothArches);
        var requests = front.Requests.Count;

        var second = await FetchOneAsync(pin, BothArches);

        Assert.Equal(7, requests);
        Assert.Equal(requests, front.Requests.Count);
        Assert.Equal(BothArches.SelectMany(first.BlobsFor), BothArches.SelectMany(second.BlobsFor));
    }

    [RegistryFact]
    public async Task GivenARegistryServingATamperedLayer_WhenFetching_ThenIntegrityFailsAndTheLayerIsNotCached()
    {
        var world = await fixture.StartAsync();
        var layer = world.Layout.Platforms[Arch.Amd64].Layer;
        await using var front = new TestHttpServer(async (request, stream, ct) =>
        {
            var answer = await RegistryProxy.GetAsync(world.Registry, request, ct);
            if (request.Path.EndsWith(layer, StringComparison.Ordinal))
            {
                var body = answer.Body.ToArray();
                body[body.Length / 2] ^= 0xff; // same size, other bytes
                await RegistryProxy.WriteAsync(stream, answer, ct, body);
                return;
            }
            await RegistryProxy.WriteAsync(stream, answer, ct);
        });

        var error = await Assert.ThrowsAsync<IntegrityException>(() => FetchOneAsync(world.Pin(registry: front.Host), [Arch.Amd64]));

        Assert.Contains($"busybox linux/amd64 layer 1/1 ({front.Host}/test/busybox:v1): digest mismatch", error.Message);
        Assert.Contains($"expected {layer} ({world.Layout.Platforms[Arch.Amd64].LayerSize} bytes)", error.Message);
        Assert.DoesNotContain(layer, CachedBlobs());
        Assert.Single(Directory.EnumerateFiles(Path.Combine(CacheDir, "quarantine")));
        Assert.False(File.Exists(Path.Combine(CacheDir, "partial", "blob-" + layer.Replace(':', '-'))));
    }

    [RegistryFact]
    public async Task GivenALayerDownloadCutHalfway_WhenFetching_ThenItResumesWithARangeRequest()
    {
        var world = await fixture.StartAsync();
        var layer = world.Layout.Platforms[Arch.Amd64].Layer;
        var cut = 0;
        await using var front = new TestHttpServer(async (request, stream, ct) =>
        {
            if (request.Path.EndsWith(layer, StringComparison.Ordinal) && request.Range is null && Interlocked.Increment(ref cut) == 1)
            {
                // Promise the whole layer, send half, hang up.
                var answer = await RegistryProxy.GetAsync(world.Registry, request, ct);
                await TestHttpServer.WriteHead(stream, "200 OK", answer.Body.Length, ct);
                await stream.WriteAsync(answer.Body.AsMemory(0, answer.Body.Length / 2), ct);
                return;
            }
            await RegistryProxy.ForwardAsync(world.Registry, request, stream, ct);
        });

        var image = await FetchOneAsync(world.Pin(registry: front.Host), [Arch.Amd64]);

        var size = world.Layout.Platforms[Arch.Amd64].LayerSize;
        Assert.Contains(front.Requests, r => r.Path.EndsWith(layer, StringComparison.Ordinal) && r.Range == $"bytes={size / 2}-");
        Assert.Equal(layer, Sha256Of(image.For(Arch.Amd64).Layers[0].LocalPath));
    }

    [RegistryFact]
    public async Task GivenARegistryMirror_WhenFetchingAnImageOfAnUnreachableRegistry_ThenEveryBlobComesFromTheMirror()
    {
        var world = await fixture.StartAsync();
        var pin = world.Pin(registry: "registry.example.invalid");

        var image = await FetchOneAsync(pin, BothArches, registryMirrors: [RegistryMirror.Parse($"registry.example.invalid={world.Registry.Url}")]);

        Assert.Equal(world.Layout.Index, image.Root.Digest);
        Assert.DoesNotContain(_reporter.Lines, l => l.StartsWith("warning:", StringComparison.Ordinal));
    }

    [RegistryFact]
    public async Task GivenARegistryMirrorWithoutTheImage_WhenFetching_ThenTheRegistryItselfIsTriedNext()
    {
        var world = await fixture.StartAsync();
        await using var emptyMirror = new TestHttpServer(TestHttpServer.Files(new Dictionary<string, byte[]>()));

        var image = await FetchOneAsync(world.Pin(), [Arch.Amd64], registryMirrors: [RegistryMirror.Parse($"{world.Registry.Host}={emptyMirror.BaseUrl}")]);

        Assert.Equal(world.Layout.Index, image.Root.Digest);
        Assert.Equal($"/v2/test/busybox/manifests/{world.Layout.Index}", emptyMirror.Requests.First().Path);
        Assert.Contains(_reporter.Lines, l => l.Contains($"{emptyMirror.BaseUrl}/ failed", StringComparison.Ordinal) && l.Contains("404", StringComparison.Ordinal));
    }

    [RegistryFact]
    public async Task GivenAnOCILayoutCarriedInWithSkopeo_WhenFetchingOffline_ThenTheImageComesFromTheLayout()
    {
        var world = await fixture.StartAsync();
        var mirror = Directory.CreateDirectory(_temp.File("mirror")).FullName;
        var copy = await LocalRegistry.Skopeo(["copy", "--all", "--preserve-digests", "--src-tls-verify=false", "--quiet",
            $"docker://{world.Registry.Host}/test/busybox:v1", $"oci:{Path.Combine(mirror, "oci")}:busybox"]);
        Assert.True(copy.Succeeded, copy.Tail());

        var image = await FetchOneAsync(world.Pin(registry: "registry.example.invalid"), BothArches, mirrors: [mirror], offline: true);

        Assert.Equal(world.Layout.Index, image.Root.Digest);
        Assert.Equal(7, CachedBlobs().Count());
        Assert.Contains(_reporter.Lines, l => l.Contains("busybox linux/amd64 layer 1/1 (OCI layout) (verified sha256)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GivenOfflineAndAnEmptyCache_WhenFetching_ThenEachMissingImageIsNamed()
    {
        var pins = new[] { ("pause", 'a'), ("coredns", 'b') }.Select(p => new LockImage(p.Item1,
            ImageReference.TryParse($"registry.example.invalid/{p.Item1}:1", out _)!, "sha256:" + new string(p.Item2, 64), Location.None)).ToList();
        using var fetcher = RegistryWorld.Fetcher(CacheDir, _reporter, offline: true);

        var error = await Assert.ThrowsAsync<UserInputException>(() => fetcher.FetchAsync(pins.Select(p => new ImageRequest(p, [Arch.Amd64])).ToList(), CancellationToken.None));

        Assert.Contains("--offline: 2 image(s) are not complete in the cache", error.Message);
        Assert.Contains($"  pause: registry.example.invalid/pause:1@sha256:{new string('a', 64)} (pause pinned blob sha256:{new string('a', 64)} is missing)", error.Message);
        Assert.Contains("  coredns: registry.example.invalid/coredns:1@", error.Message);
        Assert.Contains("carry them in with --mirror DIR", error.Message);
    }
}
