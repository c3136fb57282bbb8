using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using Bundler.Configuration;
using Bundler.Layout;
using Bundler.Nginx;
using Bundler.Tests.Audit;
using Bundler.Tests.Cli;

namespace Bundler.Tests.MixedArch;

/// <summary>
/// Issue 17: a site with three amd64 masters and one arm64 worker, built on this amd64 machine by <c>kbundle build</c>
/// with a real kube-nginx per arch. Each node's bundle carries binaries and images of its own arch only, read back from
/// the bundles themselves (unpacked by their own headers, ELF headers read) and from <c>kbundle inspect</c>.
/// </summary>
[Collection(MixedArchCollection.Name)]
public sealed class MixedArchBuildTests(MixedArchWorld world)
{
    private static readonly string[] Masters = ["m1", "m2", "m3"];

    [MixedArchFact]
    public async Task GivenThreeAmd64MastersAndAnArm64Worker_WhenBuiltHere_ThenInspectShowsArm64ForTheWorkerAndEveryBinaryInItsBundleIsAnAarch64Elf()
    {
        var (mixedLock, mixed, _) = await world.GetAsync();

        var inspect = CliRunner.Run("inspect", mixed.Run("w1"));
        var inspectJson = CliRunner.Run("inspect", mixed.Out, "--json");

        Assert.True(inspect.ExitCode == 0, inspect.All);
        Assert.StartsWith("w1.run: site mixed, node w1 (10.77.0.21), roles worker, arm64, Kubernetes 1.36.0", inspect.Out, StringComparison.Ordinal);
        Assert.Contains("    kube-nginx 1.22.1 arm64: built from nginx 1.22.1 source", inspect.Out, StringComparison.Ordinal);
        using var views = JsonDocument.Parse(inspectJson.Out);
        var arches = views.RootElement.EnumerateArray().ToDictionary(v => v.GetProperty("node").GetString()!, v => v.GetProperty("arch").GetString());
        Assert.Equal(new Dictionary<string, string?> { ["m1"] = "amd64", ["m2"] = "amd64", ["m3"] = "amd64", ["w1"] = "arm64" }, arches);
        foreach (var view in views.RootElement.EnumerateArray())
        {
            var arch = view.GetProperty("arch").GetString();
            // Every upstream artifact a node names is of its arch; only the nginx source is for any.
            Assert.All(view.GetProperty("components").EnumerateArray(), c =>
                Assert.Equal(c.GetProperty("name").GetString() == NginxStep.SourceArtifact ? "any" : arch, c.GetProperty("arch").GetString()));
        }

        foreach (var (node, arch) in Masters.Select(m => (m, Arch.Amd64)).Append(("w1", Arch.Arm64)))
        {
            var tree = world.Extracted(mixed.Run(node));
            var record = MixedArchWorld.NodeRecord(mixed.Out, node);
            var binaries = record.GetProperty("files").EnumerateArray().Where(f => f.GetProperty("kind").GetString() == "binary")
                .Select(f => f.GetProperty("path").GetString()!).Order(StringComparer.Ordinal).ToList();
            var roles = record.GetProperty("roles").EnumerateArray().Select(r => Enum.Parse<Roles>(r.GetString()!, ignoreCase: true)).Aggregate(Roles.None, (a, r) => a | r);
            Assert.Equal(ComponentTable.FetchedBinariesFor(roles).Append(NodePaths.Bin(NginxBuilder.BinaryName)).Order(StringComparer.Ordinal), binaries);

            // Every binary is an ELF of the node's arch, and it is the lock's file for that arch, byte for byte.
            foreach (var binary in binaries)
            {
                var local = Path.Combine(tree, binary.TrimStart('/'));
                Assert.True(MixedArchWorld.ElfArch(local) == arch, $"{node} ({Names.Of(arch)}): {binary} is {MixedArchWorld.ElfArch(local)?.ToString() ?? "not ELF"}");
                var name = Path.GetFileName(binary);
                if (name != NginxBuilder.BinaryName)
                    Assert.True(File.ReadAllBytes(local).AsSpan().SequenceEqual(File.ReadAllBytes(mixedLock.Sources[(arch, name)])),
                        $"{node}: {binary} is not the lock's {Names.Of(arch)} file");
            }
            // Nothing else in the bundle is an ELF of another arch.
            foreach (var file in Directory.EnumerateFiles(tree, "*", SearchOption.AllDirectories))
                Assert.True(MixedArchWorld.ElfArch(file) is null || MixedArchWorld.ElfArch(file) == arch,
                    $"{node}: {Path.GetRelativePath(tree, file)} is an ELF of another arch");

            var nginx = ElfFile.Read(Path.Combine(tree, NodePaths.Bin(NginxBuilder.BinaryName).TrimStart('/')));
            Assert.Equal((arch, true), (nginx.Arch!.Value, nginx.IsStatic));
        }
        var etcd = Path.Combine(world.Extracted(mixed.Run("m1")), "opt/k8s/bin/etcd");
        Assert.True(File.ReadAllBytes(etcd).AsSpan().SequenceEqual(File.ReadAllBytes(MixedArchLock.Amd64Etcd)), "m1 carries bookworm's amd64 etcd");
    }

    [MixedArchFact]
    public async Task GivenTheMixedSite_WhenBuilt_ThenTheArm64WorkerCarriesImagesArm64TarWithOnlyArm64ManifestsAndLayersAndTheMastersOnlyAmd64()
    {
        var (mixedLock, mixed, _) = await world.GetAsync();

        foreach (var (node, arch) in Masters.Select(m => (m, Arch.Amd64)).Append(("w1", Arch.Arm64)))
        {
            var tree = world.Extracted(mixed.Run(node));
            var other = arch == Arch.Amd64 ? Arch.Arm64 : Arch.Amd64;
            Assert.False(File.Exists(Path.Combine(tree, NodePaths.ImageArchive(other).TrimStart('/'))), $"{node} carries {NodePaths.ImageArchive(other)}");
            var archive = Path.Combine(tree, NodePaths.ImageArchive(arch).TrimStart('/'));
            Assert.True(File.Exists(archive), $"{node} lacks {NodePaths.ImageArchive(arch)}");
            var blobs = ReadTar(File.ReadAllBytes(archive)).Where(e => e.Key.StartsWith("blobs/sha256/", StringComparison.Ordinal) && e.Value.Length > 0)
                .ToDictionary(e => "sha256:" + e.Key["blobs/sha256/".Length..], e => e.Value);

            // Exactly the pinned indexes and this arch's manifest, config and layer of each image: nothing of the other arch.
            var expected = mixedLock.Images.Select(i => (i.Layout.Index, Platform: i.Layout.Platforms[arch]))
                .SelectMany(i => new[] { i.Index, i.Platform.Manifest, i.Platform.Config, i.Platform.Layer });
            Assert.Equal(expected.Order(StringComparer.Ordinal), blobs.Keys.Order(StringComparer.Ordinal));
            foreach (var (_, layout) in mixedLock.Images)
            {
                var platform = layout.Platforms[arch];
                using var config = JsonDocument.Parse(blobs[platform.Config]);
                Assert.Equal(Names.Of(arch), config.RootElement.GetProperty("architecture").GetString());
                // The layer's program is an ELF of the node's arch.
                var program = ReadTar(Gunzip(blobs[platform.Layer]))["bin/busybox"];
                var path = Path.Combine(world.Root, $"layer-{node}-{platform.Layer[7..19]}");
                File.WriteAllBytes(path, program);
                Assert.Equal(arch, MixedArchWorld.ElfArch(path));
            }
            var images = MixedArchWorld.NodeRecord(mixed.Out, node).GetProperty("images").EnumerateArray().ToList();
            Assert.Equal(["pause", "coredns"], images.Select(i => i.GetProperty("name").GetString()));
            Assert.All(images, i => Assert.Equal(Names.Of(arch), i.GetProperty("arch").GetString()));
        }
    }

    [MixedArchFact]
    public async Task GivenTheMixedSite_WhenBuilt_ThenKubeNginxWasCompiledOncePerArchWithItsProvenanceInTheManifestAndTheSbom()
    {
        var (_, mixed, edge) = await world.GetAsync();

        Assert.Contains(mixed.Lines, l => l.StartsWith("kube-nginx 1.22.1 amd64: configure and compile: done in", StringComparison.Ordinal));
        Assert.Contains(mixed.Lines, l => l.StartsWith("kube-nginx 1.22.1 arm64: configure and compile: done in", StringComparison.Ordinal));
        // The edge site (arm64 only) built from the same cache: arm64 is a cache hit, and amd64 is not needed at all.
        Assert.Contains(edge.Lines, l => l.StartsWith("kube-nginx arm64: cache hit", StringComparison.Ordinal));
        Assert.DoesNotContain(edge.Lines, l => l.Contains("amd64", StringComparison.Ordinal) && l.Contains("kube-nginx", StringComparison.Ordinal));
        Assert.DoesNotContain(edge.Lines, l => l.Contains("configure and compile", StringComparison.Ordinal));

        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(mixed.Out, "manifest.json")));
        var builds = manifest.RootElement.GetProperty("kubeNginx").EnumerateArray().ToList();
        Assert.Equal(["amd64", "arm64"], builds.Select(b => b.GetProperty("arch").GetString()));
        var arm = builds[1];
        var armCc = await ProcessRunner.RunAsync(CrossTarget.For(Arch.Arm64).Compiler, ["--version"]);
        Assert.Equal(("aarch64-linux-gnu", armCc.StandardOutput.Split('\n')[0].Trim()), (arm.GetProperty("target").GetString(), arm.GetProperty("compiler").GetString()));
        Assert.StartsWith("qemu-aarch64 version ", arm.GetProperty("emulator").GetString(), StringComparison.Ordinal);
        Assert.Equal("x86_64-linux-gnu", builds[0].GetProperty("target").GetString());
        foreach (var (node, build) in new[] { ("m1", builds[0]), ("w1", arm) })
        {
            var binary = Path.Combine(world.Extracted(mixed.Run(node)), "opt/k8s/bin/kube-nginx");
            Assert.Equal(build.GetProperty("binarySha256").GetString(), MixedArchLock.Sha256(File.ReadAllBytes(binary)));
        }

        var sbom = File.ReadAllBytes(Path.Combine(mixed.Out, "sbom.cdx.json"));
        Assert.Empty(CycloneDxSchema.Problems(sbom));
        using var bom = JsonDocument.Parse(sbom);
        var refs = bom.RootElement.GetProperty("components").EnumerateArray().Select(c => c.GetProperty("bom-ref").GetString()).ToList();
        Assert.Contains("kube-nginx:amd64", refs);
        Assert.Contains("kube-nginx:arm64", refs);
        Assert.Contains($"artifact:etcd@{MixedArchLock.EtcdVersion}:arm64", refs);
        Assert.Contains($"artifact:etcd@{MixedArchLock.EtcdVersion}:amd64", refs);
    }

    [MixedArchFact]
    public async Task GivenAWarmCache_WhenTheMixedSiteIsRebuilt_ThenNothingCompilesAndEveryBundleIsByteIdentical()
    {
        var (mixedLock, mixed, _) = await world.GetAsync();
        var first = Hashes(mixed.Out);
        var sums = File.ReadAllBytes(Path.Combine(mixed.Out, "SHA256SUMS"));

        // Into a new folder (every bundle written again from the cache) and into the same folder.
        var elsewhere = Path.Combine(world.Root, "artifacts", "mixed-again");
        var again = world.Build(mixed.SitePath, mixed.State, elsewhere, mixedLock);
        var inPlace = world.Build(mixed.SitePath, mixed.State, mixed.Out, mixedLock);

        foreach (var result in new[] { again, inPlace })
        {
            Assert.True(result.ExitCode == 0, result.All);
            var lines = result.Error.Split('\n', StringSplitOptions.TrimEntries);
            Assert.Contains("kube-nginx amd64: cache hit", lines.Select(l => l.Split(" (")[0]));
            Assert.Contains("kube-nginx arm64: cache hit", lines.Select(l => l.Split(" (")[0]));
            Assert.DoesNotContain(lines, l => l.Contains("configure and compile", StringComparison.Ordinal));
        }
        Assert.Equal(first, Hashes(elsewhere));
        using var summary = JsonDocument.Parse(inPlace.Out);
        Assert.All(summary.RootElement.GetProperty("bundles").EnumerateArray(), b => Assert.Equal("unchanged", b.GetProperty("change").GetString()));
        Assert.Equal(sums, File.ReadAllBytes(Path.Combine(mixed.Out, "SHA256SUMS")));
    }

    /// <summary>The sha256 of every bundle and of manifest.json in a folder, by file name.</summary>
    private static SortedDictionary<string, string> Hashes(string dir) =>
        new(Directory.EnumerateFiles(dir, "*.run").Append(Path.Combine(dir, "manifest.json"))
            .ToDictionary(f => Path.GetRelativePath(dir, f), f => MixedArchLock.Sha256(File.ReadAllBytes(f))), StringComparer.Ordinal);

    private static Dictionary<string, byte[]> ReadTar(byte[] tar)
    {
        var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using var reader = new TarReader(new MemoryStream(tar));
        while (reader.GetNextEntry(copyData: true) is { } entry)
        {
            using var data = new MemoryStream();
            entry.DataStream?.CopyTo(data);
            entries[entry.Name] = data.ToArray();
        }
        return entries;
    }

    private static byte[] Gunzip(byte[] gz)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(new MemoryStream(gz), CompressionMode.Decompress))
            gzip.CopyTo(output);
        return output.ToArray();
    }
}
