using Bundler.Pki;
using Bundler.Pipeline;
using Xunit;
using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Fetch.Images;
using Bundler.Layout;
using Bundler.Nginx;
using Bundler.Render;

namespace Bundler.Tests.Render;

/// <summary>
/// The example site rendered once with the shipped templates: real certificates from the PKI step (PkiStore), dummy upstream binaries
/// (fixtures for files we cannot have in tests). Shared by the render tests.
/// </summary>
public sealed class RenderFixture : IDisposable
{
    public RenderFixture()
    {
        BinDir = Directory.CreateTempSubdirectory("kbundle-render-bins-").FullName;
        Site = LoadSite(ExampleSite.Text());
        Pki = PkiFor(Site);
        Result = RenderWith(null);
    }

    public SiteSpec Site { get; }
    internal PkiMaterial Pki { get; }
    public RenderResult Result { get; }
    public string BinDir { get; }

    public static string ShippedTemplates => ToolPaths.Find("bundle-templates");
    public static string ReferenceDir => Path.Combine(AppContext.BaseDirectory, "TestData", "Reference");
    public static string ExpectationsDir => Path.Combine(AppContext.BaseDirectory, "Expectations", "example");

    public static SiteSpec LoadSite(string yaml) =>
        SiteLoader.Parse(yaml, "site.yaml", PinCatalog.Default()).Site;

    public static LockFile Lock => LockFile.Load(PinCatalog.Default().FileFor("1.36.0"));

    public static IReadOnlyDictionary<string, string> Versions => Lock.Versions;

    /// <summary>The shipped lock's images the example site's kubelet nodes carry (pause, coredns).</summary>
    public IReadOnlyList<LockImage> Images => Lock.ImagesFor(Site);

    public RenderResult RenderWith(string? overlayDir, SiteSpec? site = null)
    {
        var pki = site is null ? Pki : PkiFor(site);
        site ??= Site;
        return RenderStep.Render(site, TemplateSet.Open(ShippedTemplates, overlayDir), Versions, pki, Fetch(site), Nginx(site));
    }

    /// <summary>The real PKI step's material for a site, in a state folder of its own under this fixture.</summary>
    private PkiMaterial PkiFor(SiteSpec site) =>
        PkiStore.Ensure(site, Path.Combine(BinDir, "state", site.SourceSha256[..12]), renew: false, new RecordingReporter());

    public NodeTree Tree(string node) => Result.Nodes.Single(n => n.Node == node);

    public static string Text(NodeFile file) => System.Text.Encoding.UTF8.GetString(file.Content!);

    /// <summary>Every rendered (text) file of every node, with its node.</summary>
    public IEnumerable<(string Node, NodeFile File)> Rendered() =>
        Result.Nodes.SelectMany(t => t.Files.Where(NodeTreeWriter.IsRendered).Select(f => (t.Node, f)));

    private FetchResult Fetch(SiteSpec site)
    {
        var files = new Dictionary<(Arch, string), FetchedFile>();
        foreach (var arch in site.Arches)
        {
            foreach (var path in ComponentTable.FetchedBinariesFor(Roles.Etcd | Roles.Master | Roles.Worker))
            {
                var local = Path.Combine(BinDir, Names.Of(arch), path.TrimStart('/'));
                Directory.CreateDirectory(Path.GetDirectoryName(local)!);
                File.WriteAllText(local, "#!/bin/sh\n");
                files[(arch, path)] = new FetchedFile(local, "dummy");
            }
        }
        return new FetchResult([], files) { Images = FakeImages(site) };
    }

    /// <summary>The lock's images for the site, as fetched images whose blobs render never reads (digests made up from the pin).</summary>
    private FetchedImage[] FakeImages(SiteSpec site) =>
        Lock.ImagesFor(site).Select(pin =>
        {
            OciBlob Blob(string mediaType, string what) =>
                new(mediaType, "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(pin.Digest + what))), 100,
                    Path.Combine(BinDir, "blobs", what));
            var platforms = site.Arches.ToDictionary(a => a, a => new FetchedPlatform(a, new OciPlatform("linux", Names.Of(a), null),
                Blob(MediaTypes.OciManifest, Names.Of(a) + "-manifest"), Blob("application/vnd.oci.image.config.v1+json", Names.Of(a) + "-config"), []));
            return new FetchedImage(pin, new OciBlob(MediaTypes.OciIndex, pin.Digest, 100, Path.Combine(BinDir, "blobs", "index")), platforms);
        }).ToArray();

    private NginxResult Nginx(SiteSpec site)
    {
        var builds = new Dictionary<Arch, NginxBuild>();
        foreach (var arch in site.Arches)
        {
            var local = Path.Combine(BinDir, Names.Of(arch), "kube-nginx");
            File.WriteAllText(local, "#!/bin/sh\n");
            builds[arch] = new NginxBuild(local, new NginxProvenance(arch, "1.30.3", "", [], "", "", null, [], ""));
        }
        return new NginxResult(builds);
    }

    public void Dispose() => Directory.Delete(BinDir, recursive: true);
}

[CollectionDefinition(Name)]
public sealed class RenderCollection : ICollectionFixture<RenderFixture>
{
    public const string Name = "render";
}
