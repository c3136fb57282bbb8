using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Bundler.Layout;
using Bundler.Render;

namespace Bundler.Packaging;

/// <summary>
/// What a payload holds besides the shared binary members: the node's own member (its folders, generated files and
/// the installer's tables) and the payload's size and hash, computed from the parts without re-reading shared ones.
/// </summary>
public static class NodePayload
{
    /// <summary>The node's own member: directories, generated files, and .kbundle/ (files.tsv, dirs.tsv, node.json).</summary>
    public static byte[] OwnMember(NodeTree tree, NodeRecord record, DateTimeOffset mtime)
    {
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(record);
        var entries = new List<PayloadEntry>();
        var dirs = Directories(tree.Files);
        entries.AddRange(dirs.Select(d => new PayloadEntry(BundleLayout.EntryName(d.Key), d.Value)));
        entries.AddRange(tree.Files.Where(f => f.Content is not null).Select(f => new PayloadEntry(BundleLayout.EntryName(f.Path), f.Mode, f.Content)));
        entries.Add(new PayloadEntry(BundleLayout.MetaDir, NodeFile.Executable));
        entries.Add(new PayloadEntry(BundleLayout.FileTable, NodeFile.Public, Encoding.UTF8.GetBytes(FileTable(tree, record.Files))));
        entries.Add(new PayloadEntry(BundleLayout.DirTable, NodeFile.Public, Encoding.UTF8.GetBytes(string.Concat(dirs.Select(d => $"{d.Key}\t{BundleLayout.Octal(d.Value)}\n")))));
        entries.Add(new PayloadEntry(BundleLayout.NodeRecord, NodeFile.Public, JsonSerializer.SerializeToUtf8Bytes(record, BundleManifest.Json)));
        using var buffer = new MemoryStream();
        PayloadWriter.WriteMember(buffer, entries, mtime);
        return buffer.ToArray();
    }

    /// <summary>files.tsv: path, mode, sha256 and the units a change restarts (this node's, in start order; "-" for none).</summary>
    private static string FileTable(NodeTree tree, IReadOnlyList<FileRecord> files)
    {
        var byPath = tree.Files.ToDictionary(f => f.Path, StringComparer.Ordinal);
        var table = new StringBuilder();
        foreach (var f in files)
        {
            var units = tree.Units.Where(u => byPath[f.Path].Restarts.Any(c => c.UnitName == u)).ToList();
            table.Append(f.Path).Append('\t').Append(f.Mode).Append('\t').Append(f.Sha256).Append('\t')
                .Append(units.Count == 0 ? "-" : string.Join(',', units)).Append('\n');
        }
        return table.ToString();
    }

    /// <summary>Every parent folder of a node file, 0700 where it holds a private key, else 0755.</summary>
    public static SortedDictionary<string, UnixFileMode> Directories(IEnumerable<NodeFile> files)
    {
        ArgumentNullException.ThrowIfNull(files);
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

    /// <summary>The cache key of a payload: the keys of its shared members and the hash of its own member.</summary>
    public static string Key(IEnumerable<SharedMember> shared, byte[] ownMember) =>
        PayloadWriter.Sha256Hex(Encoding.UTF8.GetBytes($"kbundle-payload-v1\n{PrefixKey(shared)}\n{PayloadWriter.Sha256Hex(ownMember)}\n"));

    internal static string PrefixKey(IEnumerable<SharedMember> shared) => string.Join('\n', shared.Select(m => m.Key));
}

/// <summary>
/// Payload hashes from their parts. Payloads start with the shared members (path order); nodes with the same binaries
/// share that prefix, so its hash is computed once and cloned per node instead of re-reading the big members.
/// </summary>
internal sealed class PayloadHasher : IDisposable
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<(IncrementalHash Hash, long Size)>> _prefixes = new(StringComparer.Ordinal);

    public (long Size, string Sha256) Hash(IReadOnlyList<SharedMember> shared, byte[] ownMember, byte[] endMember)
    {
        var prefix = _prefixes.GetOrAdd(NodePayload.PrefixKey(shared), _ => new Lazy<(IncrementalHash, long)>(() => HashFiles(shared.Select(m => m.Path)))).Value;
        // IncrementalHash allows one thread at a time.
        IncrementalHash hash;
        lock (prefix.Hash)
            hash = prefix.Hash.Clone();
        using var _ = hash;
        hash.AppendData(ownMember);
        hash.AppendData(endMember);
        return (prefix.Size + ownMember.Length + endMember.Length, Convert.ToHexStringLower(hash.GetCurrentHash()));
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

    public void Dispose()
    {
        foreach (var prefix in _prefixes.Values.Where(p => p.IsValueCreated))
            prefix.Value.Hash.Dispose();
    }
}
