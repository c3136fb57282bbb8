using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Fetch.Images;
using Bundler.Layout;
using Bundler.Nginx;
using Bundler.Packaging;
using Bundler.Pipeline;
using Bundler.Pki;
using Bundler.Render;
using Bundler.Signing;

namespace Bundler.Benchmarks;

/// <summary>
/// Issue 11: images cost a bundle no more than their bytes. A site whose nodes carry ≥ 300 MB of image layers (random,
/// incompressible blobs in a local OCI layout, fetched and verified as a build would) packages 50 nodes; the anchor,
/// measured in the same run, is the same build without images plus writing the image bytes 50 times the way every
/// output is written (a new file, flushed to disk). Goal: ≤ 1.1.
/// </summary>
public static class ImagesBenchmark
{
    public const string Name = "images";

    public static async Task<int> RunAsync(string root, int nodes, long imageMegabytes, long binaryMegabytes)
    {
        Directory.CreateDirectory(root);
        var images = await FetchAsync(root, imageMegabytes);
        var archive = new ImageArchive(Arch.Amd64, images);
        var files = PackagingBenchmark.ElfFiles(binaryMegabytes * 1024 * 1024);
        Console.WriteLine(FormattableString.Invariant(
            $"images: {images.Count}, images-amd64.tar {archive.Size / 1048576.0:F0} MiB; binaries: {files.Count} ELF files, {files.Sum(f => new FileInfo(f).Length) / 1048576.0:F0} MiB; nodes: {nodes}"));

        // Alternate the two builds and the anchor, so both see the same machine; each folder is deleted before the next.
        var without = Time(() => Build(root, "without", files, nodes, null));
        var anchor = WriteTimes(root, archive, nodes);
        var with = Time(() => Build(root, "with", files, nodes, archive));
        var floor = without + anchor;
        Console.WriteLine(FormattableString.Invariant($"without images {without:F1} s; {nodes} × {archive.Size / 1048576.0:F0} MiB written and flushed {anchor:F1} s; with images {with:F1} s"));
        Console.WriteLine(FormattableString.Invariant($"images cost {with - without:F1} s over the build without them, {(with - without) / anchor:F2} × writing their bytes"));
        Measure.Report($"package {nodes} nodes with images", TimeSpan.FromSeconds(with), "without + write images N times", TimeSpan.FromSeconds(floor), 1.1);
        return 0;
    }

    private static double Time(Func<Task> action)
    {
        var clock = Stopwatch.StartNew();
        action().GetAwaiter().GetResult();
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>The anchor: the archive's bytes written to <paramref name="nodes"/> new files, each flushed to disk (what AtomicFile does for a .run).</summary>
    private static double WriteTimes(string root, ImageArchive archive, int nodes)
    {
        var dir = Directory.CreateDirectory(Path.Combine(root, "anchor")).FullName;
        var source = Path.Combine(dir, "images-amd64.tar");
        using (var file = File.Create(source))
            ImageArchiveWriter.WriteAsync(file, archive.Images, archive.Arch).GetAwaiter().GetResult();
        var clock = Stopwatch.StartNew();
        var buffer = new byte[1 << 20];
        Parallel.For(0, nodes, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            var local = new byte[buffer.Length];
            using var input = File.OpenRead(source);
            using var output = new FileStream(Path.Combine(dir, $"copy{i:D3}"), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1);
            int read;
            while ((read = input.Read(local)) > 0)
                output.Write(local, 0, read);
            output.Flush(flushToDisk: true);
        });
        var seconds = clock.Elapsed.TotalSeconds;
        Directory.Delete(dir, recursive: true);
        return seconds;
    }

    /// <summary>Package and sign, cold (empty packaging cache and folder); the output is deleted afterwards (disk).</summary>
    private static async Task Build(string root, string name, IReadOnlyList<string> files, int nodes, ImageArchive? archive)
    {
        var yaml = "name: bench\nkubernetes: 1.36.0\npki: {keyAlgorithm: ecdsa-p256}\nnodes:\n" + string.Concat(Enumerable.Range(0, nodes).Select(i =>
            FormattableString.Invariant($"  - name: n{i:D3}\n    ip: 10.88.{1 + i / 200}.{10 + i % 200}\n    roles: [{(i == 0 ? "etcd, master" : "worker")}]\n")));
        var site = SiteLoader.Parse(yaml, "bench.yaml", PinCatalog.Default(), new string('0', 64)).Site;
        var dir = Path.Combine(root, name);
        var options = new BuildOptions
        {
            SitePath = "bench.yaml", OutDir = Path.Combine(dir, "artifacts"), CacheDir = Path.Combine(dir, "cache"), StateDir = Path.Combine(root, "state"),
        };
        var inputs = new BuildInputs(site, new LockFile("bench-lock.yaml", site.Kubernetes, []), options);
        var pki = PkiStep.Run(inputs, new RecordingReporter());
        var trees = site.Nodes.Select(n => new NodeTree(n.Name,
            files.Select((f, i) => NodeFile.Binary(NodePaths.Bin(FormattableString.Invariant($"f{i:D4}-{Path.GetFileName(f)}")), f, "bench"))
                .Concat(archive is null ? [] : [NodeFile.Images(NodePaths.ImageArchive(Arch.Amd64), archive, [ComponentTable.Images])])
                .Concat(pki.Material.PkiFilesFor(n)).ToList(), ComponentTable.UnitsFor(n.Roles))).ToList();
        var reporter = new RecordingReporter();
        var packaged = await PackageStep.RunAsync(inputs, new RenderResult(trees), new FetchResult([], new Dictionary<(Arch, string), FetchedFile>()),
            new NginxResult(new Dictionary<Arch, NginxBuild>()), pki, reporter);
        await SignStep.RunAsync(inputs, packaged, pki.SigningKey, reporter);
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>
    /// A local OCI layout of single-platform images whose layers are random bytes (incompressible, like the gzip layers of
    /// real images), fetched into a cache with the build's own fetcher (verified, offline).
    /// </summary>
    private static async Task<IReadOnlyList<FetchedImage>> FetchAsync(string root, long megabytes)
    {
        var layout = Path.Combine(root, "mirror", "oci");
        var blobs = Directory.CreateDirectory(Path.Combine(layout, "blobs", "sha256")).FullName;
        File.WriteAllText(Path.Combine(layout, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        string Write(byte[] bytes)
        {
            var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
            File.WriteAllBytes(Path.Combine(blobs, digest[7..]), bytes);
            return digest;
        }
        const int imageCount = 6;
        var layerSize = (int)(megabytes * 1024 * 1024 / imageCount);
        var random = new Random(11);
        var pins = new List<ImageRequest>();
        for (var i = 0; i < imageCount; i++)
        {
            var layer = new byte[layerSize];
            random.NextBytes(layer);
            var layerDigest = Write(layer);
            var config = JsonSerializer.SerializeToUtf8Bytes(new { architecture = "amd64", os = "linux", rootfs = new { type = "layers", diff_ids = new[] { layerDigest } } });
            var configDigest = Write(config);
            var manifest = JsonSerializer.SerializeToUtf8Bytes(new
            {
                schemaVersion = 2, mediaType = MediaTypes.OciManifest,
                config = new { mediaType = "application/vnd.oci.image.config.v1+json", digest = configDigest, size = config.Length },
                layers = new[] { new { mediaType = "application/vnd.oci.image.layer.v1.tar+gzip", digest = layerDigest, size = layer.Length } },
            });
            var digest = Write(manifest);
            var reference = ImageReference.TryParse(string.Create(CultureInfo.InvariantCulture, $"bench.invalid/app{i}:v1"), out _)!;
            pins.Add(new ImageRequest(new LockImage($"app{i}", reference, digest, Location.None), [Arch.Amd64]));
        }
        using var fetcher = new ImageFetcher(new BlobCache(Path.Combine(root, "cache")), [Path.Combine(root, "mirror")], [], offline: true,
            FetchSettings.Default, new RecordingReporter());
        var images = await fetcher.FetchAsync(pins, CancellationToken.None);
        Directory.Delete(Path.Combine(root, "mirror"), recursive: true);
        return images;
    }
}
