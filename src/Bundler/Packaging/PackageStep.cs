using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Layout;
using Bundler.Nginx;
using Bundler.Pipeline;
using Bundler.Pki;
using Bundler.Render;

namespace Bundler.Packaging;

/// <summary>What package hands to sign: every file it wrote (name in the artifacts folder) and its sha256, hashed as written.</summary>
public sealed record PackageResult(IReadOnlyDictionary<string, string> Sha256ByFile);

// Reads: rendered trees, fetched binaries, pki certificates, state/<site>/source-date-epoch.
// Writes: cache/packaging/*.gz (one gzip member per shared binary), artifacts/<site>/<node>.run, manifest.json.
public sealed class PackageStep : IStep
{
    public const string EpochFile = "source-date-epoch";

    public StepName Name => StepName.Package;
    public string Reads => "rendered trees, fetched binaries, pki certificates";
    public string Writes => "artifacts/<site>/<node>.run, manifest.json";

    public static string ToolVersion =>
        typeof(PackageStep).Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{v.Build}" : "0.0.0";

    public async Task RunAsync(BuildContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var render = context.Get<RenderResult>();
        var pki = context.Get<IPkiResult>();
        context.TryGet<FetchResult>(out var fetch);
        context.TryGet<NginxResult>(out var nginx);
        var site = context.Site;

        Directory.CreateDirectory(context.OutDir);
        ForgetUnfinishedOutputs(context.OutDir);
        var epoch = SourceDateEpoch(context.StateDir);
        var mtime = DateTimeOffset.FromUnixTimeSeconds(epoch);
        var template = BundleHeader.LoadTemplate(context.Options.TemplatesDir);
        var artifacts = (fetch?.Artifacts ?? []).Select(a => new ArtifactEntry(a.Name, a.Version, a.Arch, a.Url, a.Algorithm, a.Checksum, a.SignedBy)).ToList();

        // Compress once, share across nodes: one gzip member per distinct binary, cached by content hash.
        var cache = new MemberCache(Path.Combine(context.CacheDir, "packaging"));
        var binaries = render.Nodes.SelectMany(n => n.Files).Where(f => f.SourceFile is not null)
            .Select(f => (f.Path, f.Mode, Source: Path.GetFullPath(f.SourceFile!))).Distinct().ToList();
        var members = new System.Collections.Concurrent.ConcurrentDictionary<(string, UnixFileMode, string), SharedMember>();
        using (var progress = context.Reporter.Begin($"compress {binaries.Count} binaries"))
        {
            await Parallel.ForEachAsync(binaries, new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount },
                (binary, _) =>
                {
                    members[binary] = cache.Get(binary.Path, binary.Mode, binary.Source, mtime);
                    return ValueTask.CompletedTask;
                }).ConfigureAwait(false);
            progress.Complete($"{cache.Reused} reused, {cache.Compressed} compressed");
        }

        var endMember = PayloadWriter.EndMember();
        var prefixes = new System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<(IncrementalHash Hash, long Size)>>(StringComparer.Ordinal);
        var nodes = new (NodeRecord Record, string RunSha)[render.Nodes.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, render.Nodes.Count),
            new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount },
            async (index, ct) =>
            {
                var tree = render.Nodes[index];
                var node = site.Node(tree.Node);
                var fileRecords = tree.Files.OrderBy(f => f.Path, StringComparer.Ordinal).Select(f => Describe(f, members)).ToList();
                var certificates = pki.CertificatesFor(node).OrderBy(c => c.Path, StringComparer.Ordinal)
                    .Select(c => new CertificateRecord(c.Path, c.Subject, c.Issuer, c.Sans, c.NotBefore, c.NotAfter, c.KeyAlgorithm, c.SerialNumber)).ToList();
                var componentNames = tree.Files.Select(f => f.Component).OfType<string>().ToHashSet(StringComparer.Ordinal);
                var components = artifacts.Where(a => componentNames.Contains(a.Name) && (a.Arch == Names.Of(node.Arch) || a.Arch == "any")).ToList();
                var record = new NodeRecord(node.Name, node.Ip.ToString(), Names.RoleList(node.Roles).ToList(), Names.Of(node.Arch), null, components,
                    fileRecords, certificates, tree.Files.Where(f => f.Kind == FileKind.PrivateKey).Select(f => f.Path).Order(StringComparer.Ordinal).ToList(),
                    tree.Units);

                // Payload order: the shared binary members (path order), the node's own member, the end member. Nodes with the
                // same binaries share the hash of that prefix, so no node re-reads the big members just to hash them.
                var shared = tree.Files.Where(f => f.SourceFile is not null).OrderBy(f => f.Path, StringComparer.Ordinal)
                    .Select(f => members[(f.Path, f.Mode, Path.GetFullPath(f.SourceFile!))]).ToList();
                var configMember = ConfigMember(tree, fileRecords, record, mtime);
                var prefixKey = string.Join('\n', shared.Select(m => m.Key));
                var payloadKey = PayloadWriter.Sha256Hex(Encoding.UTF8.GetBytes($"kbundle-payload-v1\n{prefixKey}\n{PayloadWriter.Sha256Hex(configMember)}\n"));
                var (payloadSize, payloadSha) = cache.Payload(payloadKey, () =>
                {
                    var prefix = prefixes.GetOrAdd(prefixKey, _ => new Lazy<(IncrementalHash, long)>(() => HashFiles(shared.Select(m => m.Path)))).Value;
                    // Nodes with the same roles share one prefix hash; IncrementalHash allows one thread at a time.
                    IncrementalHash hash;
                    lock (prefix.Hash)
                        hash = prefix.Hash.Clone();
                    using var _ = hash;
                    hash.AppendData(configMember);
                    hash.AppendData(endMember);
                    return (prefix.Size + configMember.Length + endMember.Length, Convert.ToHexStringLower(hash.GetCurrentHash()));
                });

                var header = BundleHeader.Render(template, Metadata(site, node, tree, epoch), payloadSize, payloadSha);
                var runPath = Path.Combine(context.OutDir, BundleLayout.RunFile(node.Name));
                var runSha = cache.UnchangedRun(runPath, header, header.Length + payloadSize);
                if (runSha is null)
                {
                    using var runHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                    await AtomicFile.WriteAsync(runPath, async (stream, token) =>
                    {
                        var hashing = new HashingWriter(stream, runHash);
                        await hashing.WriteAsync(header, token).ConfigureAwait(false);
                        foreach (var member in shared)
                        {
                            await using var source = File.OpenRead(member.Path);
                            await source.CopyToAsync(hashing, 1 << 20, token).ConfigureAwait(false);
                        }
                        await hashing.WriteAsync(configMember, token).ConfigureAwait(false);
                        await hashing.WriteAsync(endMember, token).ConfigureAwait(false);
                    }, NodeFile.Executable, ct).ConfigureAwait(false);
                    runSha = Convert.ToHexStringLower(runHash.GetCurrentHash());
                    cache.RecordRun(runPath, header, runSha);
                }
                var headerSha = Encoding.ASCII.GetString(header, BundleLayout.Shebang.Length + BundleLayout.HeaderHashKey.Length, 64);
                nodes[index] = (record with
                {
                    Bundle = new BundleRecord(BundleLayout.RunFile(node.Name), header.Length + payloadSize, runSha, headerSha, payloadSize, payloadSha),
                }, runSha);
                context.Reporter.Info($"{BundleLayout.RunFile(node.Name)}: {header.Length + payloadSize} bytes, payload sha256 {payloadSha}");
            }).ConfigureAwait(false);
        foreach (var prefix in prefixes.Values.Where(p => p.IsValueCreated))
            prefix.Value.Hash.Dispose();
        var records = nodes.Select(n => n.Record).ToList();
        var runFiles = records.Select(r => r.Bundle!.File).ToList();

        var manifest = new BundleManifest(BundleManifest.CurrentFormat, ToolVersion, new SiteRecord(site.Name, site.Kubernetes, site.SourceSha256),
            epoch, artifacts, nginx is null ? null : NginxEntry.From(nginx), records);
        var manifestBytes = manifest.ToBytes();
        AtomicFile.WriteAllBytes(Path.Combine(context.OutDir, BundleLayout.ManifestFile), manifestBytes, NodeFile.Public);
        RemoveStaleBundles(context.OutDir, runFiles);
        var hashes = nodes.ToDictionary(n => n.Record.Bundle!.File, n => n.RunSha, StringComparer.Ordinal);
        hashes[BundleLayout.ManifestFile] = PayloadWriter.Sha256Hex(manifestBytes);
        context.Set(new PackageResult(hashes));
    }

    /// <summary>SOURCE_DATE_EPOCH if set, else a value made once and kept in state, so rebuilds reuse it.</summary>
    public static long SourceDateEpoch(string stateDir)
    {
        var fromEnv = Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH");
        if (!string.IsNullOrEmpty(fromEnv))
            return long.TryParse(fromEnv, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 0
                ? value
                : throw new UserInputException($"SOURCE_DATE_EPOCH={fromEnv}: must be a whole number of seconds since 1970");
        var file = Path.Combine(stateDir, EpochFile);
        if (File.Exists(file) && long.TryParse(File.ReadAllText(file).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var stored))
            return stored;
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (!Directory.Exists(stateDir) && !OperatingSystem.IsWindows())
            Directory.CreateDirectory(stateDir, NodeFile.SecretDir);
        AtomicFile.WriteAllText(file, now.ToString(CultureInfo.InvariantCulture) + "\n", NodeFile.Public);
        return now;
    }

    /// <summary>A killed build leaves hidden .tmp files and an old SHA256SUMS; neither may look finished.</summary>
    private static void ForgetUnfinishedOutputs(string outDir)
    {
        foreach (var temp in Directory.EnumerateFiles(outDir, ".*.tmp-*"))
            File.Delete(temp);
        // Sign reuses the previous signature only when SHA256SUMS comes out byte-identical (ECDSA signatures are random).
        foreach (var name in new[] { BundleLayout.SumsFile, BundleLayout.SignatureFile })
        {
            var path = Path.Combine(outDir, name);
            if (File.Exists(path))
                File.Move(path, Path.Combine(outDir, "." + name + ".previous"), overwrite: true);
        }
    }

    private static void RemoveStaleBundles(string outDir, List<string> runFiles)
    {
        foreach (var run in Directory.EnumerateFiles(outDir, "*" + BundleLayout.RunExtension))
            if (!runFiles.Contains(Path.GetFileName(run)))
                File.Delete(run);
    }

    private static FileRecord Describe(NodeFile file, IReadOnlyDictionary<(string, UnixFileMode, string), SharedMember> members)
    {
        if (file.Content is null == (file.SourceFile is null))
            throw new InvalidOperationException($"{file.Path}: a node file needs exactly one of content or a source file");
        var (size, sha) = file.Content is { } content
            ? (content.LongLength, PayloadWriter.Sha256Hex(content))
            : (members[(file.Path, file.Mode, Path.GetFullPath(file.SourceFile!))].ContentSize, members[(file.Path, file.Mode, Path.GetFullPath(file.SourceFile!))].ContentSha256);
        return new FileRecord(file.Path, BundleLayout.Octal(file.Mode), "root:root", size, sha, file.Kind.ToString().ToLowerInvariant(), file.Component);
    }

    /// <summary>The node's own member: directories, generated files, and the installer's tables.</summary>
    private static byte[] ConfigMember(NodeTree tree, IReadOnlyList<FileRecord> files, NodeRecord record, DateTimeOffset mtime)
    {
        var entries = new List<PayloadEntry>();
        var dirs = Directories(tree.Files);
        entries.AddRange(dirs.Select(d => new PayloadEntry(BundleLayout.EntryName(d.Key), d.Value)));
        entries.AddRange(tree.Files.Where(f => f.Content is not null).Select(f => new PayloadEntry(BundleLayout.EntryName(f.Path), f.Mode, f.Content)));
        var table = new StringBuilder();
        foreach (var f in files)
        {
            var units = BundleLayout.UnitsAffectedBy(f.Path, tree.Units);
            table.Append(f.Path).Append('\t').Append(f.Mode).Append('\t').Append(f.Sha256).Append('\t')
                .Append(units.Count == 0 ? "-" : string.Join(',', units)).Append('\n');
        }
        var dirTable = string.Concat(dirs.Select(d => $"{d.Key}\t{BundleLayout.Octal(d.Value)}\n"));
        entries.Add(new PayloadEntry(BundleLayout.MetaDir, NodeFile.Executable));
        entries.Add(new PayloadEntry(BundleLayout.FileTable, NodeFile.Public, Encoding.UTF8.GetBytes(table.ToString())));
        entries.Add(new PayloadEntry(BundleLayout.DirTable, NodeFile.Public, Encoding.UTF8.GetBytes(dirTable)));
        entries.Add(new PayloadEntry(BundleLayout.NodeRecord, NodeFile.Public, JsonSerializer.SerializeToUtf8Bytes(record, BundleManifest.Json)));
        using var buffer = new MemoryStream();
        PayloadWriter.WriteMember(buffer, entries, mtime);
        return buffer.ToArray();
    }

    /// <summary>Every parent folder of a node file, 0700 where it holds a private key, else 0755.</summary>
    public static SortedDictionary<string, UnixFileMode> Directories(IEnumerable<NodeFile> files)
    {
        var dirs = new SortedDictionary<string, UnixFileMode>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var secret = file.Kind == FileKind.PrivateKey;
            for (var dir = Path.GetDirectoryName(file.Path); dir is not null && dir != "/"; dir = Path.GetDirectoryName(dir))
            {
                var mode = secret && dir == Path.GetDirectoryName(file.Path) ? NodeFile.SecretDir : NodeFile.Executable;
                dirs[dir] = dirs.TryGetValue(dir, out var had) && had == NodeFile.SecretDir ? had : mode;
            }
        }
        return dirs;
    }

    private static (IncrementalHash Hash, long Size) HashFiles(IEnumerable<string> files)
    {
        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        long size = 0;
        foreach (var file in files)
        {
            using var stream = File.OpenRead(file);
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                size += read;
            }
        }
        return (hash, size);
    }

    private static List<KeyValuePair<string, string>> Metadata(SiteSpec site, NodeSpec node, NodeTree tree, long epoch)
    {
        var dataDirs = new List<string>();
        if (node.Is(Roles.Etcd))
            dataDirs.Add(NodePaths.EtcdDataDir);
        if (node.Is(Roles.Worker))
            dataDirs.Add(NodePaths.KubeletDir);
        return
        [
            new("KB_SITE", site.Name),
            new("KB_NODE", node.Name),
            new("KB_IP", node.Ip.ToString()),
            new("KB_ROLES", Names.Of(node.Roles)),
            new("KB_ARCH", Names.Of(node.Arch)),
            new("KB_KUBERNETES", site.Kubernetes),
            new("KB_TOOL_VERSION", ToolVersion),
            new("KB_BUILD_EPOCH", epoch.ToString(CultureInfo.InvariantCulture)),
            new("KB_UNITS", string.Join(' ', tree.Units)),
            new("KB_DATA_DIRS", string.Join(' ', dataDirs)),
            new("KB_API_PORT", site.ApiServer.Port.ToString(CultureInfo.InvariantCulture)),
            new("KB_LOCAL_PROXY_PORT", site.ApiServer.LocalProxyPort.ToString(CultureInfo.InvariantCulture)),
            new("KB_PROXY_MODE", Names.Of(site.Network.ProxyMode)),
            new("KB_FIRST_MASTER", node.Is(Roles.Master) && site.FirstMaster.Name == node.Name ? "yes" : "no"),
            new("KB_HOSTS", string.Join(' ', site.Nodes.Select(n => $"{n.Ip}={n.Name}"))),
        ];
    }
}

/// <summary>A binary's gzip member on disk (named by its cache key), and the binary's own size and hash (for the manifest).</summary>
public sealed record SharedMember(string Key, string Path, long ContentSize, string ContentSha256);

/// <summary>Passes writes through and hashes them, so a .run is hashed while it is written, not read back.</summary>
internal sealed class HashingWriter(Stream inner, IncrementalHash hash) : WriteOnlyStream(inner)
{
    public override void Write(byte[] buffer, int offset, int count)
    {
        hash.AppendData(buffer, offset, count);
        Inner.Write(buffer, offset, count);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        hash.AppendData(buffer.Span);
        await Inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
}
/// <summary>
/// cache/packaging/: &lt;key&gt;.gz, one gzip member per (node path, mode, mtime, content hash); hashes/, a binary's
/// sha256 by (path, size, mtime) so a warm rebuild does not re-read unchanged binaries; payloads/, a payload's size
/// and sha256 by the keys of its parts; runs/, what each .run was when written (size, mtime, sha256), so an
/// unchanged .run is neither rewritten nor re-read. A lost or stale record only costs time: keys name content.
/// </summary>
internal sealed class MemberCache(string directory)
{
    private int _reused;
    private int _compressed;

    public int Reused => _reused;
    public int Compressed => _compressed;

    private string Record(string kind, string key) => System.IO.Path.Combine(directory, kind, key);

    private static string? ReadRecord(string path) => File.Exists(path) ? File.ReadAllText(path) : null;

    public SharedMember Get(string nodePath, UnixFileMode mode, string source, DateTimeOffset mtime)
    {
        var info = new FileInfo(source);
        var size = info.Length;
        var statKey = PayloadWriter.Sha256Hex(Encoding.UTF8.GetBytes($"{source}\n{size}\n{info.LastWriteTimeUtc.Ticks}\n"));
        var sha = ReadRecord(Record("hashes", statKey))?.Trim();
        if (sha is not { Length: 64 })
        {
            sha = PayloadWriter.Sha256Hex(source);
            AtomicFile.WriteAllText(Record("hashes", statKey), sha + "\n");
        }
        var key = PayloadWriter.Sha256Hex(Encoding.UTF8.GetBytes($"kbundle-member-v1\n{nodePath}\n{BundleLayout.Octal(mode)}\n{mtime.ToUnixTimeSeconds()}\n{sha}\n"));
        var path = System.IO.Path.Combine(directory, key + ".gz");
        if (File.Exists(path))
        {
            Interlocked.Increment(ref _reused);
            return new SharedMember(key, path, size, sha);
        }
        AtomicFile.Write(path, stream => PayloadWriter.WriteMember(stream, [new PayloadEntry(BundleLayout.EntryName(nodePath), mode, SourceFile: source)], mtime));
        // The source could have changed while we read it; the member must hold the bytes the key names.
        var after = new FileInfo(source);
        if (after.Length != size || after.LastWriteTimeUtc != info.LastWriteTimeUtc)
        {
            File.Delete(path);
            throw new IntegrityException($"{source} changed while it was being packaged");
        }
        Interlocked.Increment(ref _compressed);
        return new SharedMember(key, path, size, sha);
    }

    public (long Size, string Sha256) Payload(string key, Func<(long Size, string Sha256)> compute)
    {
        var record = ReadRecord(Record("payloads", key))?.Split(' ', StringSplitOptions.TrimEntries);
        if (record is [var sizeText, { Length: 64 } sha] && long.TryParse(sizeText, System.Globalization.CultureInfo.InvariantCulture, out var size))
            return (size, sha);
        var computed = compute();
        AtomicFile.WriteAllText(Record("payloads", key), FormattableString.Invariant($"{computed.Size} {computed.Sha256}\n"));
        return computed;
    }

    /// <summary>The sha256 of <paramref name="runPath"/> if it is the file we wrote for this header, untouched since; else null.</summary>
    public string? UnchangedRun(string runPath, byte[] header, long size)
    {
        var file = new FileInfo(runPath);
        if (!file.Exists || file.Length != size)
            return null;
        var record = ReadRecord(Record("runs", PayloadWriter.Sha256Hex(header)))?.Split(' ', StringSplitOptions.TrimEntries);
        if (record is not [var recordedPath, var sizeText, var ticks, { Length: 64 } sha]
            || recordedPath != Convert.ToHexStringLower(Encoding.UTF8.GetBytes(runPath))
            || sizeText != size.ToString(System.Globalization.CultureInfo.InvariantCulture)
            || ticks != file.LastWriteTimeUtc.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture))
            return null;
        var start = new byte[header.Length];
        using (var stream = file.OpenRead())
            stream.ReadExactly(start);
        return start.AsSpan().SequenceEqual(header) ? sha : null;
    }

    public void RecordRun(string runPath, byte[] header, string sha)
    {
        var file = new FileInfo(runPath);
        AtomicFile.WriteAllText(Record("runs", PayloadWriter.Sha256Hex(header)),
            FormattableString.Invariant($"{Convert.ToHexStringLower(Encoding.UTF8.GetBytes(runPath))} {file.Length} {file.LastWriteTimeUtc.Ticks} {sha}\n"));
    }
}
