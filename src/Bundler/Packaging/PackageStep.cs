using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Bundler.Audit;
using Bundler.Fetch;
using Bundler.Layout;
using Bundler.Nginx;
using Bundler.Pipeline;
using Bundler.Pki;
using Bundler.Render;
using Bundler.Signing;

namespace Bundler.Packaging;

/// <summary>
/// What package hands to sign: the manifest it wrote, every file it wrote (name in the artifacts folder) with its
/// sha256 (hashed as written), and the previous build's signed SHA256SUMS, taken out of the folder before anything
/// in it changed (sign keeps that signature when the new SHA256SUMS is byte-identical).
/// </summary>
public sealed record PackageResult(BundleManifest Manifest, IReadOnlyDictionary<string, string> Sha256ByFile, SignedSums? Previous);

// Writes: artifacts/<site>/<node>.run, manifest.json, sbom.cdx.json, report.html and INSTALL.txt (--out), cache/packaging/
// (one gzip member per shared binary, hash records). First takes SHA256SUMS and its signature out of the folder: a folder
// being rewritten never looks finished.
public static class PackageStep
{
    public static string ToolVersion =>
        typeof(PackageStep).Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{v.Build}" : "0.0.0";

    public static async Task<PackageResult> RunAsync(BuildInputs inputs, RenderResult render, FetchResult fetch, NginxResult nginx, PkiResult pki,
        IBuildReporter reporter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(render);
        ArgumentNullException.ThrowIfNull(fetch);
        ArgumentNullException.ThrowIfNull(nginx);
        ArgumentNullException.ThrowIfNull(pki);
        ArgumentNullException.ThrowIfNull(reporter);
        var site = inputs.Site;
        var outDir = inputs.OutDir;
        Directory.CreateDirectory(outDir);
        var previous = SignedSums.TakeFrom(outDir);
        // Read before anything here is replaced: the report says what changed since the build this folder held.
        var before = PreviousBuild.Read(outDir, previous, pki.SigningKey.PublicKeyPem);
        ForgetUnfinishedOutputs(outDir);
        var mtime = DateTimeOffset.FromUnixTimeSeconds(pki.SourceDateEpoch);
        var template = BundleHeader.LoadTemplate(inputs.Options.TemplatesDir);
        var cache = new MemberCache(Path.Combine(inputs.CacheDir, "packaging"));
        var members = await CompressSharedAsync(render, cache, mtime, reporter, cancellationToken).ConfigureAwait(false);

        var endMember = PayloadWriter.EndMember();
        using var hasher = new PayloadHasher();
        var nodes = new NodeRecord[render.Nodes.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, render.Nodes.Count),
            new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount },
            async (index, ct) =>
            {
                var tree = render.Nodes[index];
                var node = site.Node(tree.Node);
                SharedMember? Member(NodeFile f) => IsShared(f) ? members[SharedKey(f)] : null;
                var files = tree.Files.OrderBy(f => f.Path, StringComparer.Ordinal).Select(f => ManifestRecords.File(f, Member(f))).ToList();
                var record = ManifestRecords.Node(site, node, tree, files, pki.Material.CertificatesFor(node), fetch.Artifacts);

                // Payload order: the shared members (binaries, the image archive; path order), the node's own member, the end member.
                var shared = tree.Files.Where(IsShared).OrderBy(f => f.Path, StringComparer.Ordinal).Select(f => Member(f)!).ToList();
                var own = NodePayload.OwnMember(tree, record, mtime);
                var (payloadSize, payloadSha) = cache.Payload(NodePayload.Key(shared, own), () => hasher.Hash(shared, own, endMember));

                var header = BundleHeader.Render(template, BundleHeader.Metadata(site, node, tree.Units, pki.SourceDateEpoch), payloadSize, payloadSha);
                var runFile = BundleLayout.RunFile(node.Name);
                var runPath = Path.Combine(outDir, runFile);
                var runSha = cache.UnchangedRun(runPath, header, header.Length + payloadSize);
                if (runSha is null)
                {
                    runSha = await WriteRunAsync(runPath, [header], shared, [own, endMember], ct).ConfigureAwait(false);
                    cache.RecordRun(runPath, header, runSha);
                }
                var headerSha = Encoding.ASCII.GetString(header, BundleLayout.Shebang.Length + BundleLayout.HeaderHashKey.Length, 64);
                nodes[index] = record with { Bundle = new BundleRecord(runFile, header.Length + payloadSize, runSha, headerSha, payloadSize, payloadSha) };
                reporter.Info($"{runFile}: {header.Length + payloadSize} bytes, payload sha256 {payloadSha}");
            }).ConfigureAwait(false);

        var manifest = new BundleManifest(BundleManifest.CurrentFormat, ToolVersion, new SiteRecord(site.Name, site.Kubernetes, site.SourceSha256),
            pki.SourceDateEpoch, fetch.Artifacts, nginx.Provenances, nodes)
        {
            Images = fetch.Images.Count == 0 ? null : fetch.Images.Select(PinnedImageRecord.Of).ToList(),
            Addons = site.Addons.Select(a => fetch.Addons.FirstOrDefault(f => f.Addon.Name == a.Name)?.Record
                                             ?? new AddonRecord(a.Name, "built-in", null, [a.Name])).ToList(),
        };
        var manifestBytes = manifest.ToBytes();
        AtomicFile.WriteAllBytes(Path.Combine(outDir, BundleLayout.ManifestFile), manifestBytes, NodeFile.Public);
        RemoveStaleBundles(outDir, nodes.Select(n => n.Bundle!.File).ToList());
        var hashes = nodes.ToDictionary(n => n.Bundle!.File, n => n.Bundle!.Sha256, StringComparer.Ordinal);
        hashes[BundleLayout.ManifestFile] = PayloadWriter.Sha256Hex(manifestBytes);
        var history = before.HistoryFor(manifestBytes, manifest, inputs.Clock.GetUtcNow());
        var audit = AuditFiles.Render(manifest, manifestBytes, pki.SigningKey.PublicKeyPem, history, ToolIdentity.Current);
        foreach (var (name, sha) in AuditFiles.Write(outDir, audit))
            hashes[name] = sha;
        reporter.Info($"{string.Join(", ", audit.Keys)}: written ({history.Changes.Basis})");
        return new PackageResult(manifest, hashes, previous);
    }

    /// <summary>A file whose member is shared between nodes: a binary from the cache, or an image archive.</summary>
    private static bool IsShared(NodeFile file) => file.SourceFile is not null || file.Archive is not null;

    /// <summary>What makes two nodes' shared files one member: path, mode, and the source file or the archive's content.</summary>
    private static string SharedKey(NodeFile file) => file.Archive is { } archive
        ? $"images\n{file.Path}\n{BundleLayout.Octal(file.Mode)}\n{archive.Arch}\n{archive.Key}"
        : $"file\n{file.Path}\n{BundleLayout.Octal(file.Mode)}\n{Path.GetFullPath(file.SourceFile!)}";

    /// <summary>
    /// Compress once, share across nodes: one gzip member per distinct binary (path, mode, file) and one per image archive
    /// (one per arch, stored, not compressed), cached by content hash.
    /// </summary>
    private static async Task<ConcurrentDictionary<string, SharedMember>> CompressSharedAsync(
        RenderResult render, MemberCache cache, DateTimeOffset mtime, IBuildReporter reporter, CancellationToken cancellationToken)
    {
        var shared = render.Nodes.SelectMany(n => n.Files).Where(IsShared).DistinctBy(SharedKey).ToList();
        var members = new ConcurrentDictionary<string, SharedMember>(StringComparer.Ordinal);
        var archives = shared.Count(f => f.Archive is not null);
        using var progress = reporter.Begin($"compress {shared.Count - archives} binaries" + (archives > 0 ? $", store {archives} image archive(s)" : ""));
        // Image archives first: they are the largest, and start while the binaries compress beside them.
        await Parallel.ForEachAsync(shared.OrderBy(f => f.Archive is null), new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount },
            async (file, ct) => members[SharedKey(file)] = file.Archive is { } archive
                ? await cache.GetImagesAsync(file.Path, file.Mode, archive, mtime, ct).ConfigureAwait(false)
                : cache.Get(file.Path, file.Mode, Path.GetFullPath(file.SourceFile!), mtime)).ConfigureAwait(false);
        progress.Complete($"{cache.Reused} reused, {cache.Compressed} written");
        return members;
    }

    /// <summary>Writes a .run (whole or not at all) and hashes it while writing: 50 bundles are not read back just to be hashed.</summary>
    private static async Task<string> WriteRunAsync(string runPath, byte[][] before, IReadOnlyList<SharedMember> shared, byte[][] after, CancellationToken cancellationToken)
    {
        using var runHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await AtomicFile.WriteAsync(runPath, async (stream, token) =>
        {
            var hashing = new HashingWriter(stream, runHash);
            foreach (var bytes in before)
                await hashing.WriteAsync(bytes, token).ConfigureAwait(false);
            foreach (var member in shared)
            {
                await using var source = File.OpenRead(member.Path);
                await source.CopyToAsync(hashing, 1 << 20, token).ConfigureAwait(false);
            }
            foreach (var bytes in after)
                await hashing.WriteAsync(bytes, token).ConfigureAwait(false);
        }, NodeFile.Executable, cancellationToken).ConfigureAwait(false);
        return Convert.ToHexStringLower(runHash.GetCurrentHash());
    }

    /// <summary>A killed build leaves hidden .tmp files; none may survive into a finished folder.</summary>
    private static void ForgetUnfinishedOutputs(string outDir)
    {
        foreach (var temp in Directory.EnumerateFiles(outDir, AtomicFile.TempPattern))
            File.Delete(temp);
    }

    private static void RemoveStaleBundles(string outDir, List<string> runFiles)
    {
        foreach (var run in Directory.EnumerateFiles(outDir, "*" + BundleLayout.RunExtension))
            if (!runFiles.Contains(Path.GetFileName(run)))
                File.Delete(run);
    }
}
