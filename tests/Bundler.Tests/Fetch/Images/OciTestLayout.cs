using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Bundler.Configuration;
using Bundler.Fetch.Images;

namespace Bundler.Tests.Fetch.Images;

/// <summary>The digests of one platform of <see cref="OciTestLayout"/>.</summary>
public sealed record TestPlatform(Arch Arch, string Manifest, string Config, string Layer, long LayerSize);

/// <summary>
/// A two-platform OCI image layout built by the test, the way a registry would hold a real image: an index
/// pointing at a linux/amd64 image whose one layer holds the static /bin/busybox (busybox-static), and a
/// linux/arm64 image with one small layer (or an aarch64 program the test gives). The bytes are ours, so the pinned
/// digest is known independently of the code under test.
/// </summary>
public sealed class OciTestLayout
{
    public const string Tag = "v1";
    public const string Busybox = "/bin/busybox";

    private OciTestLayout(string dir, string index, long indexSize, IReadOnlyDictionary<Arch, TestPlatform> platforms)
    {
        Dir = dir;
        Index = index;
        IndexSize = indexSize;
        Platforms = platforms;
    }

    public string Dir { get; }
    public string Index { get; }
    public long IndexSize { get; }
    public IReadOnlyDictionary<Arch, TestPlatform> Platforms { get; }

    public string BlobPath(string digest) => Path.Combine(Dir, "blobs", "sha256", digest["sha256:".Length..]);

    /// <param name="amd64Binary">The amd64 layer's bin/busybox; the real static busybox unless a test only needs bytes.</param>
    /// <param name="cmd">The images' command; <c>/bin/busybox sh</c> unless given.</param>
    /// <param name="title">An <c>org.opencontainers.image.title</c> label in the configs (a stand-in says what it stands in for).</param>
    /// <param name="arm64Binary">The arm64 layer's bin/busybox (an aarch64 program); a small text file unless given.</param>
    public static OciTestLayout Build(string dir, byte[]? amd64Binary = null, string[]? cmd = null, string? title = null, byte[]? arm64Binary = null)
    {
        Directory.CreateDirectory(Path.Combine(dir, "blobs", "sha256"));
        var platforms = new Dictionary<Arch, TestPlatform>();
        var descriptors = new List<object>();
        foreach (var (arch, member, content) in new[]
                 {
                     (Arch.Amd64, "bin/busybox", amd64Binary ?? File.ReadAllBytes(Busybox)),
                     arm64Binary is null ? (Arch.Arm64, "hello.txt", Encoding.UTF8.GetBytes("hello from arm64\n")) : (Arch.Arm64, "bin/busybox", arm64Binary),
                 })
        {
            var (layer, diffId) = Layer(member, content);
            var layerDigest = Write(dir, layer);
            var config = Json(new Dictionary<string, object>
            {
                ["architecture"] = Names.Of(arch),
                ["os"] = "linux",
                ["config"] = title is null
                    ? new Dictionary<string, object> { ["Cmd"] = cmd ?? ["/bin/busybox", "sh"] }
                    : new Dictionary<string, object> { ["Cmd"] = cmd ?? ["/bin/busybox", "sh"], ["Labels"] = new Dictionary<string, string> { ["org.opencontainers.image.title"] = title } },
                ["rootfs"] = new { type = "layers", diff_ids = new[] { diffId } },
            });
            var configDigest = Write(dir, config);
            var manifest = Json(new
            {
                schemaVersion = 2,
                mediaType = MediaTypes.OciManifest,
                config = new { mediaType = "application/vnd.oci.image.config.v1+json", digest = configDigest, size = config.Length },
                layers = new[] { new { mediaType = "application/vnd.oci.image.layer.v1.tar+gzip", digest = layerDigest, size = layer.Length } },
            });
            var manifestDigest = Write(dir, manifest);
            descriptors.Add(new { mediaType = MediaTypes.OciManifest, digest = manifestDigest, size = manifest.Length, platform = new { architecture = Names.Of(arch), os = "linux" } });
            platforms[arch] = new TestPlatform(arch, manifestDigest, configDigest, layerDigest, layer.Length);
        }
        var index = Json(new { schemaVersion = 2, mediaType = MediaTypes.OciIndex, manifests = descriptors });
        var indexDigest = Write(dir, index);
        File.WriteAllText(Path.Combine(dir, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        File.WriteAllBytes(Path.Combine(dir, "index.json"), Json(new
        {
            schemaVersion = 2,
            manifests = new[] { new { mediaType = MediaTypes.OciIndex, digest = indexDigest, size = index.Length, annotations = new Dictionary<string, string> { ["org.opencontainers.image.ref.name"] = Tag } } },
        }));
        return new OciTestLayout(dir, indexDigest, index.Length, platforms);
    }

    public static string Digest(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static byte[] Json(object value) => JsonSerializer.SerializeToUtf8Bytes(value);

    private static string Write(string dir, byte[] blob)
    {
        var digest = Digest(blob);
        File.WriteAllBytes(Path.Combine(dir, "blobs", "sha256", digest["sha256:".Length..]), blob);
        return digest;
    }

    /// <summary>A gzipped layer tar with one file, and the digest of the uncompressed tar (the config's diff_id).</summary>
    private static (byte[] Gzipped, string DiffId) Layer(string member, byte[] content)
    {
        using var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Ustar, leaveOpen: true))
        {
            var directory = Path.GetDirectoryName(member);
            if (!string.IsNullOrEmpty(directory))
                writer.WriteEntry(new UstarTarEntry(TarEntryType.Directory, directory + "/") { Mode = (UnixFileMode)0b111_101_101, ModificationTime = DateTimeOffset.UnixEpoch });
            writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, member)
            {
                Mode = (UnixFileMode)0b111_101_101,
                ModificationTime = DateTimeOffset.UnixEpoch,
                DataStream = new MemoryStream(content),
            });
        }
        using var gzipped = new MemoryStream();
        using (var gzip = new GZipStream(gzipped, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(tar.ToArray());
        return (gzipped.ToArray(), Digest(tar.ToArray()));
    }
}
