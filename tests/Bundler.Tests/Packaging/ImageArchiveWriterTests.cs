using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Bundler.Configuration;
using Bundler.Fetch.Images;
using Bundler.Packaging;
using Bundler.Pipeline;
using Bundler.Tests.Fetch;
using Bundler.Tests.Fetch.Images;

namespace Bundler.Tests.Packaging;

/// <summary>
/// <c>images-&lt;arch&gt;.tar</c> from images fetched by the real fetcher (from a carried-in OCI layout the test
/// built): an uncompressed, deterministic OCI layout with only that arch's blobs and each image named twice.
/// </summary>
public sealed class ImageArchiveWriterTests : IDisposable
{
    private static readonly DateTimeOffset Mtime = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private readonly TempDir _temp = new("kbundle-image-archive");
    private readonly OciTestLayout _layout;

    public ImageArchiveWriterTests()
    {
        _layout = OciTestLayout.Build(_temp.File("mirror", "oci"), Encoding.UTF8.GetBytes("#!/bin/sh\necho stand-in\n"));
    }

    public void Dispose() => _temp.Dispose();

    private static LockImage Pin(string name, string reference, string digest) =>
        new(name, ImageReference.TryParse(reference, out _)!, digest, Location.None);

    private Task<IReadOnlyList<FetchedImage>> FetchAsync(params LockImage[] pins) => FetchAsync([Arch.Amd64, Arch.Arm64], pins);

    private async Task<IReadOnlyList<FetchedImage>> FetchAsync(Arch[] arches, params LockImage[] pins)
    {
        using var fetcher = new ImageFetcher(new BlobCache(_temp.File("cache")), [_temp.File("mirror")], [], offline: true, RegistryWorld.Settings, new RecordingReporter());
        return await fetcher.FetchAsync(pins.Select(p => new ImageRequest(p, arches)).ToList(), CancellationToken.None);
    }

    private static async Task<byte[]> WriteAsync(IEnumerable<FetchedImage> images, Arch arch)
    {
        using var buffer = new MemoryStream();
        await ImageArchiveWriter.WriteAsync(buffer, images, arch, Mtime);
        return buffer.ToArray();
    }

    private static List<(TarEntry Entry, byte[] Data)> Read(byte[] tar)
    {
        var entries = new List<(TarEntry, byte[])>();
        using var reader = new TarReader(new MemoryStream(tar));
        while (reader.GetNextEntry(copyData: true) is { } entry)
        {
            using var data = new MemoryStream();
            entry.DataStream?.CopyTo(data);
            entries.Add((entry, data.ToArray()));
        }
        return entries;
    }

    private static string Blob(string digest) => "blobs/sha256/" + digest["sha256:".Length..];

    [Fact]
    public async Task GivenAFetchedIndex_WhenWritingTheAmd64Archive_ThenItHoldsThePinnedIndexAndOnlyAmd64BlobsNamedTwice()
    {
        var images = await FetchAsync(Pin("busybox", "registry.example.org/test/busybox:v1", _layout.Index));

        var tar = await WriteAsync(images, Arch.Amd64);

        var entries = Read(tar);
        var amd64 = _layout.Platforms[Arch.Amd64];
        var blobs = new[] { _layout.Index, amd64.Manifest, amd64.Config, amd64.Layer }.Select(Blob).Order(StringComparer.Ordinal);
        Assert.Equal(["blobs/", "blobs/sha256/", .. blobs, "index.json", "oci-layout"], entries.Select(e => e.Entry.Name));
        Assert.All(entries, e =>
        {
            Assert.Equal(TarEntryFormat.Ustar, e.Entry.Format);
            Assert.Equal((0, 0, Mtime), (e.Entry.Uid, e.Entry.Gid, e.Entry.ModificationTime));
            Assert.Equal(e.Entry.EntryType == TarEntryType.Directory ? (UnixFileMode)0b111_101_101 : (UnixFileMode)0b110_100_100, e.Entry.Mode);
        });
        foreach (var (entry, data) in entries.Where(e => e.Entry.Name.StartsWith("blobs/sha256/", StringComparison.Ordinal) && e.Entry.EntryType == TarEntryType.RegularFile))
        {
            Assert.Equal("sha256:" + Path.GetFileName(entry.Name), "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data)));
            Assert.Equal(File.ReadAllBytes(_layout.BlobPath("sha256:" + Path.GetFileName(entry.Name))), data);
        }
        Assert.Equal("{\"imageLayoutVersion\":\"1.0.0\"}", Encoding.UTF8.GetString(entries.Single(e => e.Entry.Name == "oci-layout").Data));

        using var index = JsonDocument.Parse(entries.Single(e => e.Entry.Name == "index.json").Data);
        Assert.Equal(2, index.RootElement.GetProperty("schemaVersion").GetInt32());
        var names = index.RootElement.GetProperty("manifests").EnumerateArray().Select(m => (
            MediaType: m.GetProperty("mediaType").GetString(), Digest: m.GetProperty("digest").GetString(), Size: m.GetProperty("size").GetInt64(),
            Name: m.GetProperty("annotations").GetProperty("io.containerd.image.name").GetString(),
            RefName: m.GetProperty("annotations").GetProperty("org.opencontainers.image.ref.name").GetString())).ToList();
        Assert.Equal(
            [
                (MediaTypes.OciIndex, _layout.Index, _layout.IndexSize, $"registry.example.org/test/busybox:v1", "v1"),
                (MediaTypes.OciIndex, _layout.Index, _layout.IndexSize, $"registry.example.org/test/busybox@{_layout.Index}", $"registry.example.org/test/busybox@{_layout.Index}"),
            ],
            names);
        Assert.Equal(ImageArchiveWriter.SizeOf(images, Arch.Amd64), tar.Length);
    }

    [Fact]
    public async Task GivenTheSameImagesInAnotherOrder_WhenWritingTwice_ThenTheArchivesAreByteIdentical()
    {
        var images = await FetchAsync(
            Pin("busybox", "registry.example.org/test/busybox:v1", _layout.Index),
            Pin("busybox-hub", "docker.io/busybox:v1", _layout.Index));

        var first = await WriteAsync(images, Arch.Arm64);
        var second = await WriteAsync(images.Reverse(), Arch.Arm64);

        Assert.Equal(first, second);
        var entries = Read(first);
        Assert.Equal(8, entries.Count); // 2 folders; index, arm64 manifest, config, layer (once for both names); index.json, oci-layout
        Assert.DoesNotContain(entries, e => e.Entry.Name == Blob(_layout.Platforms[Arch.Amd64].Layer));
        var names = JsonDocument.Parse(entries.Single(e => e.Entry.Name == "index.json").Data).RootElement.GetProperty("manifests")
            .EnumerateArray().Select(m => m.GetProperty("annotations").GetProperty("io.containerd.image.name").GetString()).ToList();
        Assert.Equal(["docker.io/library/busybox:v1", $"docker.io/library/busybox@{_layout.Index}", "registry.example.org/test/busybox:v1", $"registry.example.org/test/busybox@{_layout.Index}"], names);
        Assert.Equal(ImageArchiveWriter.SizeOf(images, Arch.Arm64), first.Length);
    }

    [Fact]
    public async Task GivenASinglePlatformPin_WhenWriting_ThenIndexJsonPointsAtTheManifestWithItsPlatform()
    {
        var manifest = _layout.Platforms[Arch.Amd64].Manifest;
        var images = await FetchAsync([Arch.Amd64], Pin("busybox", "registry.example.org/test/busybox:v1", manifest));

        var entries = Read(await WriteAsync(images, Arch.Amd64));

        Assert.DoesNotContain(entries, e => e.Entry.Name == Blob(_layout.Index));
        var first = JsonDocument.Parse(entries.Single(e => e.Entry.Name == "index.json").Data).RootElement.GetProperty("manifests")[0];
        Assert.Equal((MediaTypes.OciManifest, manifest), (first.GetProperty("mediaType").GetString(), first.GetProperty("digest").GetString()));
        Assert.Equal("{\"architecture\":\"amd64\",\"os\":\"linux\"}", first.GetProperty("platform").GetRawText());
    }

    [Fact]
    public async Task GivenACachedLayerChangedAfterTheFetch_WhenWriting_ThenIntegrityFails()
    {
        var images = await FetchAsync(Pin("busybox", "registry.example.org/test/busybox:v1", _layout.Index));
        var layer = images[0].For(Arch.Amd64).Layers[0].LocalPath;
        var bytes = File.ReadAllBytes(layer);
        bytes[^1] ^= 0xff;
        File.WriteAllBytes(layer, bytes);

        var error = await Assert.ThrowsAsync<IntegrityException>(() => WriteAsync(images, Arch.Amd64));

        Assert.Contains($"{layer}: hashes to sha256:", error.Message);
        Assert.Contains($"but must be {_layout.Platforms[Arch.Amd64].Layer}", error.Message);
    }

    [Fact]
    public async Task GivenTwoImagesNamingOneReferenceWithDifferentDigests_WhenWriting_ThenItIsRefusedNamingBoth()
    {
        var images = await FetchAsync([Arch.Amd64],
            Pin("busybox", "registry.example.org/test/busybox:v1", _layout.Index),
            Pin("busybox-amd64", "registry.example.org/test/busybox:v1", _layout.Platforms[Arch.Amd64].Manifest));

        var error = Assert.Throws<UserInputException>(() => ImageArchiveWriter.NamesFor(images, Arch.Amd64));

        Assert.Contains("images 'busybox' and 'busybox-amd64' both name registry.example.org/test/busybox:v1, with different digests", error.Message);
    }
}
