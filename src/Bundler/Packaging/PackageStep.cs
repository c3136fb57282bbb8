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
/// in it changed (sign keeps that signature when the new SHA256SUMS is byte-identical), and the build's serial (sign
/// records it in state once the folder is finished).
/// </summary>
public sealed record PackageResult(BundleManifest Manifest, IReadOnlyDictionary<string, string> Sha256ByFile, SignedSums? Previous, BuildSerial? Build = null)
{
    /// <summary>The manifest.json the previous build left in the folder (what changed since), or null.</summary>
    public BundleManifest? PreviousManifest { get; init; }

    /// <summary>Each file's <see cref="FileIdentity"/> once written (null where there is none): sign re-checks them before it signs.</summary>
    public IReadOnlyDictionary<string, FileIdentity?> IdentityByFile { get; init; } = new Dictionary<string, FileIdentity?>();
}

/// <summary>A node's payload, ready to be put behind its header.</summary>
public sealed record PreparedNode(
    Configuration.NodeSpec Node, NodeTree Tree, NodeRecord Record, IReadOnlyList<SharedMember> Shared, byte[] Own, long PayloadSize, string PayloadSha256)
{
    /// <summary>What the bundle installs, whatever its serial (<see cref="BundleRecord.ContentSha256"/>).</summary>
    public string? ContentSha256 { get; set; }
}

/// <summary>What <see cref="PackageStep.PrepareAsync"/> decided: every node's payload, the build serial, and how headers and the manifest are made.</summary>
public sealed class PreparedPackage
{
    private readonly Func<IReadOnlyList<NodeRecord>, BuildSerial, BundleManifest> _manifest;
    private readonly Func<PreparedNode, BuildSerial, byte[]> _header;

    internal PreparedPackage(IReadOnlyList<PreparedNode> nodes, MemberCache cache, byte[] endMember,
        Func<IReadOnlyList<NodeRecord>, BuildSerial, BundleManifest> manifest, Func<PreparedNode, BuildSerial, byte[]> header)
    {
        Nodes = nodes;
        Cache = cache;
        EndMember = endMember;
        _manifest = manifest;
        _header = header;
    }

    public IReadOnlyList<PreparedNode> Nodes { get; }

    internal MemberCache Cache { get; }

    internal byte[] EndMember { get; }

    public BuildSerial Build { get; internal set; } = BuildSerial.Placeholder;

    public BundleManifest Manifest(IReadOnlyList<NodeRecord> records, BuildSerial build) => _manifest(records, build);

    public byte[] Header(PreparedNode node, BuildSerial build) => _header(node, build);

    /// <summary>
    /// The manifest this build would write, each bundle known by what it installs (content sha256, payload) but not by its
    /// bytes (no .run is written): what <c>kbundle plan</c> compares with the running build.
    /// </summary>
    public BundleManifest Planned() => Manifest(Nodes.Select(p => p.Record with
    {
        Bundle = new BundleRecord(BundleLayout.RunFile(p.Node.Name), 0, "", "", p.PayloadSize, p.PayloadSha256, p.ContentSha256),
    }).ToList(), Build);
}

// Writes: artifacts/<site>/<node>.run, manifest.json, sbom.cdx.json, report.html and INSTALL.txt (--out), cache/packaging/
// (one gzip member per shared binary, hash records). First takes SHA256SUMS and its signature out of the folder: a folder
// being rewritten never looks finished.
public static class PackageStep
{
    /// <summary>
    /// A bundle carries private keys and credentials: owner only (0700). Auditors read it as the owner (sha256sum,
    /// kbundle verify); a field engineer runs it as root.
    /// </summary>
    public const UnixFileMode RunMode = NodeFile.SecretDir;

    public static string ToolVersion =>
        typeof(PackageStep).Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{v.Build}" : "0.0.0";

    public static async Task<PackageResult> RunAsync(BuildInputs inputs, RenderResult render, FetchResult fetch, NginxResult nginx, PkiResult pki,
        IBuildReporter reporter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(pki);
        ArgumentNullException.ThrowIfNull(reporter);
        var outDir = inputs.OutDir;
        Directory.CreateDirectory(outDir);
        var previousManifest = BundleManifest.ReadIfPresent(Path.Combine(outDir, BundleLayout.ManifestFile));
        var previous = SignedSums.TakeFrom(outDir);
        // Read before anything here is replaced: the report says what changed since the build this folder held.
        var before = PreviousBuild.Read(outDir, previous, pki.SigningKey.PublicKeyPem);
        ForgetUnfinishedOutputs(outDir);
        var package = await PrepareAsync(inputs, render, fetch, nginx, pki, reporter, cancellationToken).ConfigureAwait(false);
        var cache = package.Cache;
        var build = package.Build;
        var prepared = package.Nodes;

        var nodes = new NodeRecord[prepared.Count];
        var identities = new ConcurrentDictionary<string, FileIdentity?>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(Enumerable.Range(0, prepared.Count),
            new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount },
            async (index, ct) =>
            {
                var p = prepared[index];
                var header = package.Header(p, build);
                var runFile = BundleLayout.RunFile(p.Node.Name);
                var runPath = Path.Combine(outDir, runFile);
                var runSha = cache.UnchangedRun(runPath, header, header.Length + p.PayloadSize);
                if (runSha is null)
                {
                    runSha = await WriteRunAsync(runPath, [header], p.Shared, [p.Own, package.EndMember], ct).ConfigureAwait(false);
                    cache.RecordRun(runPath, header, runSha);
                }
                else if (!OperatingSystem.IsWindows() && File.GetUnixFileMode(runPath) != RunMode)
                {
                    // An older build's bundle, world-readable: kept, but no longer readable by everyone.
                    File.SetUnixFileMode(runPath, RunMode);
                    cache.RecordRun(runPath, header, runSha);
                }
                identities[runFile] = FileIdentity.Of(runPath);
                var headerSha = Encoding.ASCII.GetString(header, BundleLayout.Shebang.Length + BundleLayout.HeaderHashKey.Length, 64);
                nodes[index] = p.Record with
                {
                    Bundle = new BundleRecord(runFile, header.Length + p.PayloadSize, runSha, headerSha, p.PayloadSize, p.PayloadSha256, p.ContentSha256),
                };
                reporter.Info($"{runFile}: {Sizes.Human(header.Length + p.PayloadSize)}, payload sha256 {p.PayloadSha256}");
            }).ConfigureAwait(false);

        var manifest = package.Manifest(nodes, build);
        var manifestBytes = manifest.ToBytes();
        AtomicFile.WriteAllBytes(Path.Combine(outDir, BundleLayout.ManifestFile), manifestBytes, NodeFile.Public);
        RemoveStaleBundles(outDir, nodes.Select(n => n.Bundle!.File).ToList());
        identities[BundleLayout.ManifestFile] = FileIdentity.Of(Path.Combine(outDir, BundleLayout.ManifestFile));
        var hashes = nodes.ToDictionary(n => n.Bundle!.File, n => n.Bundle!.Sha256, StringComparer.Ordinal);
        hashes[BundleLayout.ManifestFile] = PayloadWriter.Sha256Hex(manifestBytes);
        var history = before.HistoryFor(manifestBytes, manifest, inputs.Clock.GetUtcNow());
        var audit = AuditFiles.Render(manifest, manifestBytes, pki.SigningKey.PublicKeyPem, history, ToolIdentity.Current);
        foreach (var (name, sha) in AuditFiles.Write(outDir, audit))
        {
            hashes[name] = sha;
            identities[name] = FileIdentity.Of(Path.Combine(outDir, name));
        }
        reporter.Info($"{string.Join(", ", audit.Keys)}: written ({history.Changes.Basis})");
        return new PackageResult(manifest, hashes, previous, build) { IdentityByFile = identities, PreviousManifest = previousManifest };
    }

    /// <summary>
    /// Everything package decides before it writes into the output folder: each node's payload (shared members compressed
    /// into the cache, their hashes, the node's own member), what each bundle installs (<see cref="BundleRecord.ContentSha256"/>)
    /// and the build serial. <c>kbundle plan</c> stops here: it never writes the output folder.
    /// </summary>
    public static async Task<PreparedPackage> PrepareAsync(BuildInputs inputs, RenderResult render, FetchResult fetch, NginxResult nginx, PkiResult pki,
        IBuildReporter reporter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(render);
        ArgumentNullException.ThrowIfNull(fetch);
        ArgumentNullException.ThrowIfNull(nginx);
        ArgumentNullException.ThrowIfNull(pki);
        ArgumentNullException.ThrowIfNull(reporter);
        var site = inputs.Site;
        var etcd = inputs.Etcd;
        var mtime = DateTimeOffset.FromUnixTimeSeconds(pki.SourceDateEpoch);
        var template = BundleHeader.LoadTemplate(inputs.Options.TemplatesDir);
        var cache = new MemberCache(Path.Combine(inputs.CacheDir, "packaging"));
        var members = await CompressSharedAsync(render, cache, mtime, reporter, cancellationToken).ConfigureAwait(false);

        var endMember = PayloadWriter.EndMember();
        using var hasher = new PayloadHasher();
        var prepared = new PreparedNode[render.Nodes.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, render.Nodes.Count),
            new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount },
            (index, _) =>
            {
                var tree = render.Nodes[index];
                var node = site.Node(tree.Node);
                SharedMember? Member(NodeFile f) => IsShared(f) ? members[SharedKey(f)] : null;
                var files = tree.Files.OrderBy(f => f.Path, StringComparer.Ordinal).Select(f => ManifestRecords.File(f, Member(f))).ToList();
                var record = ManifestRecords.Node(site, node, tree, files, pki.Material.CertificatesFor(node), fetch.Artifacts,
                    node.Is(Configuration.Roles.Etcd) ? etcd.Start(node) : null);

                // Payload order: the shared members (binaries, the image archive; path order), the node's own member, the end member.
                var shared = tree.Files.Where(IsShared).OrderBy(f => f.Path, StringComparer.Ordinal).Select(f => Member(f)!).ToList();
                var own = NodePayload.OwnMember(tree, record, mtime);
                var (payloadSize, payloadSha) = cache.Payload(NodePayload.Key(shared, own), () => hasher.Hash(shared, own, endMember));
                prepared[index] = new PreparedNode(node, tree, record, shared, own, payloadSize, payloadSha);
                return ValueTask.CompletedTask;
            }).ConfigureAwait(false);

        var package = new PreparedPackage(prepared, cache, endMember,
            (nodes, build) => new BundleManifest(BundleManifest.CurrentFormat, ToolVersion,
                new SiteRecord(site.Name, site.Kubernetes, site.SourceSha256) { Network = NetworkRecord.Of(site) }, pki.SourceDateEpoch, fetch.Artifacts,
                nginx.Provenances, nodes)
            {
                BuildSerial = build.Number == 0 ? null : build.Number, BuildTime = build.Number == 0 ? null : build.TimeText,
                Images = fetch.Images.Count == 0 ? null : fetch.Images.Select(PinnedImageRecord.Of).ToList(),
                Addons = site.Addons.Select(a => fetch.Addons.FirstOrDefault(f => f.Addon.Name == a.Name)?.Record
                                                 ?? new AddonRecord(a.Name, "built-in", null, [a.Name])).ToList(),
            },
            (p, build) => BundleHeader.Render(template, BundleHeader.Metadata(site, p.Node, p.Tree.Units, pki.SourceDateEpoch, build, etcd), p.PayloadSize, p.PayloadSha256));

        // The serial grows only when something this build writes differs from the last one: the fingerprint is every
        // header and payload, and the manifest, as they would be without a serial.
        using (var fingerprint = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            fingerprint.AppendData(package.Manifest(prepared.Select(p => p.Record).ToList(), BuildSerial.Placeholder).ToBytes());
            foreach (var p in prepared)
            {
                p.ContentSha256 = PayloadWriter.Sha256Hex(Encoding.ASCII.GetBytes($"{PayloadWriter.Sha256Hex(package.Header(p, BuildSerial.Placeholder))} {p.PayloadSha256}"));
                fingerprint.AppendData(Encoding.ASCII.GetBytes($"{p.Node.Name} {p.ContentSha256}\n"));
            }
            package.Build = BuildSerial.Decide(inputs.StateDir, Convert.ToHexStringLower(fingerprint.GetCurrentHash()), BuildClock(inputs, pki));
        }
        return package;
    }


    /// <summary>The time a new serial is stamped with: SOURCE_DATE_EPOCH when set (reproducible builds), else the build's clock.</summary>
    private static DateTimeOffset BuildClock(BuildInputs inputs, PkiResult pki) =>
        string.IsNullOrEmpty(Environment.GetEnvironmentVariable(SourceDateEpoch.Variable))
            ? inputs.Clock.GetUtcNow()
            : DateTimeOffset.FromUnixTimeSeconds(pki.SourceDateEpoch);

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
        }, RunMode, cancellationToken).ConfigureAwait(false);
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
