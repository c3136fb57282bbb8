using Bundler.Layout;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Bundler.Packaging;

namespace Bundler.Inspection;

/// <summary>
/// One change on a node: its kind (header, hosts, certificate, image, binary, config, key, secret, mode, file), the path or
/// header field it is about, a one-line summary, and for configs the unified diff (secrets and certificates hidden).
/// </summary>
public sealed record DiffChange(string Kind, string Path, string Summary, string? Diff = null)
{
    public IEnumerable<string> Lines => Diff is null ? [Summary] : [Diff];
}

/// <summary>What changed on one node between two builds: added, removed, changed or unchanged, and each change.</summary>
public sealed record NodeDiff(string Node, string Status, IReadOnlyList<DiffChange> Changes)
{
    public const string Added = "added";
    public const string Removed = "removed";
    public const string Changed = "changed";
    public const string Unchanged = "unchanged";

    /// <summary>The text <c>kbundle diff</c> prints for the node; empty when nothing changed.</summary>
    public IReadOnlyList<string> Lines => Status switch
    {
        Added => ["node added"],
        Removed => ["node removed"],
        _ => Changes.SelectMany(c => c.Lines).ToList(),
    };
}

/// <summary>
/// <c>kbundle diff OLD NEW</c>: per node, first what the header says (the node, its units, /etc/hosts, the build), then
/// certificates (re-issued, SANs, expiry; never PEM), then images (added, removed, re-pinned), then files: binaries and
/// image archives by hash, configs as unified diffs with every secret and every certificate or key block hidden.
/// </summary>
public static partial class BundleDiff
{
    /// <summary>Reads a .run file or every .run in a folder, checking each before trusting it.</summary>
    public static IReadOnlyList<BundleView> Load(string target)
    {
        var files = Directory.Exists(target)
            ? Directory.EnumerateFiles(target, "*" + BundleLayout.RunExtension).Order(StringComparer.Ordinal).ToList()
            : File.Exists(target) ? [target] : throw new UserInputException($"{target}: no such .run file or folder");
        var views = new List<BundleView>();
        foreach (var file in files)
        {
            var reader = BundleReader.Open(file);
            var problems = reader.Problems();
            if (problems.Count > 0)
                throw new IntegrityException($"{file}: {string.Join("; ", problems)}");
            views.Add(reader.Read());
        }
        return views;
    }

    public static IReadOnlyList<NodeDiff> Compare(IReadOnlyList<BundleView> oldViews, IReadOnlyList<BundleView> newViews)
    {
        ArgumentNullException.ThrowIfNull(oldViews);
        ArgumentNullException.ThrowIfNull(newViews);
        var result = new List<NodeDiff>();
        var names = oldViews.Select(v => v.Node).Union(newViews.Select(v => v.Node)).Order(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var before = oldViews.FirstOrDefault(v => v.Node == name);
            var after = newViews.FirstOrDefault(v => v.Node == name);
            if (before is null) { result.Add(new NodeDiff(name, NodeDiff.Added, [])); continue; }
            if (after is null) { result.Add(new NodeDiff(name, NodeDiff.Removed, [])); continue; }
            var changes = CompareNode(before, after);
            result.Add(new NodeDiff(name, changes.Count == 0 ? NodeDiff.Unchanged : NodeDiff.Changed, changes));
        }
        return result;
    }

    /// <summary>The header first, then certificates (a re-issued certificate is the news, its file the detail), then files.</summary>
    private static List<DiffChange> CompareNode(BundleView before, BundleView after)
    {
        var changes = new List<DiffChange>();
        changes.AddRange(CompareHeader(before, after));
        changes.AddRange(CompareCertificates(before, after));
        changes.AddRange(CompareImages(before, after));
        changes.AddRange(CompareFiles(before, after));
        return changes;
    }

    /// <summary>Header fields that say nothing of their own: integrity and sizes, which change with any byte.</summary>
    private static readonly HashSet<string> Bookkeeping =
        [HeaderKeys.HeaderSha256, HeaderKeys.HeaderSize, HeaderKeys.PayloadSize, HeaderKeys.PayloadSha256, HeaderKeys.HashedFrom];

    private static IEnumerable<DiffChange> CompareHeader(BundleView before, BundleView after)
    {
        foreach (var key in before.Header.Keys.Union(after.Header.Keys).Where(k => !Bookkeeping.Contains(k)).Order(StringComparer.Ordinal))
        {
            var o = before.Header.GetValueOrDefault(key);
            var n = after.Header.GetValueOrDefault(key);
            if (o == n)
                continue;
            if (key == HeaderKeys.Hosts)
            {
                // /etc/hosts gets the site's block from this field: name each line that comes or goes.
                var was = (o ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Hosts).ToList();
                var now = (n ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Hosts).ToList();
                foreach (var line in was.Except(now))
                    yield return new DiffChange("hosts", "/etc/hosts", $"/etc/hosts: - {line}");
                foreach (var line in now.Except(was))
                    yield return new DiffChange("hosts", "/etc/hosts", $"/etc/hosts: + {line}");
                continue;
            }
            var name = key[HeaderKeys.Prefix.Length..].ToLowerInvariant().Replace('_', ' ');
            yield return new DiffChange("header", name, $"{name}: {(o is null ? "(none)" : o)} -> {(n is null ? "(none)" : n)}");
        }
    }

    private static string Hosts(string pair) => pair.Contains('=', StringComparison.Ordinal) ? $"{pair[..pair.IndexOf('=', StringComparison.Ordinal)]} {pair[(pair.IndexOf('=', StringComparison.Ordinal) + 1)..]}" : pair;

    private static IEnumerable<DiffChange> CompareCertificates(BundleView before, BundleView after)
    {
        var oldCerts = before.Certificates.ToLookup(c => (c.Path, c.Subject));
        var newCerts = after.Certificates.ToLookup(c => (c.Path, c.Subject));
        foreach (var key in oldCerts.Select(g => g.Key).Union(newCerts.Select(g => g.Key)).OrderBy(k => k.Path, StringComparer.Ordinal).ThenBy(k => k.Subject, StringComparer.Ordinal))
        {
            var o = oldCerts[key].FirstOrDefault();
            var n = newCerts[key].FirstOrDefault();
            if (o is null) { yield return new DiffChange("certificate", key.Path, $"certificate added: {key.Path} {key.Subject} (expires {Date(n!.NotAfter)})"); continue; }
            if (n is null) { yield return new DiffChange("certificate", key.Path, $"certificate removed: {key.Path} {key.Subject}"); continue; }
            if (o.SerialNumber == n.SerialNumber)
                continue;
            var detail = new List<string>();
            var added = n.Sans.Except(o.Sans).ToList();
            var removed = o.Sans.Except(n.Sans).ToList();
            if (added.Count > 0) detail.Add("SANs added " + string.Join(",", added));
            if (removed.Count > 0) detail.Add("SANs removed " + string.Join(",", removed));
            if (o.NotAfter != n.NotAfter) detail.Add($"expiry {Date(o.NotAfter)} -> {Date(n.NotAfter)}");
            if (o.Issuer != n.Issuer) detail.Add($"issuer {o.Issuer} -> {n.Issuer}");
            yield return new DiffChange("certificate", key.Path, $"certificate re-issued: {key.Path} {key.Subject} serial {o.SerialNumber} -> {n.SerialNumber}" +
                                                                 (detail.Count > 0 ? "; " + string.Join("; ", detail) : ""));
        }
    }

    private static IEnumerable<DiffChange> CompareFiles(BundleView before, BundleView after)
    {
        var oldFiles = before.Files.ToDictionary(f => f.Path);
        var newFiles = after.Files.ToDictionary(f => f.Path);
        var certificateFiles = before.Certificates.Concat(after.Certificates).Select(c => c.Path).ToHashSet(StringComparer.Ordinal);
        foreach (var path in oldFiles.Keys.Union(newFiles.Keys).Order(StringComparer.Ordinal))
        {
            oldFiles.TryGetValue(path, out var o);
            newFiles.TryGetValue(path, out var n);
            var kind = Kind(path, o ?? n!);
            if (o is null) { yield return new DiffChange(kind, path, $"file added: {path} ({n!.Mode}, {n.Size} bytes, sha256 {n.Sha256})"); continue; }
            if (n is null) { yield return new DiffChange(kind, path, $"file removed: {path}"); continue; }
            if (o.Mode != n.Mode)
                yield return new DiffChange("mode", path, $"mode changed: {path} {o.Mode} -> {n.Mode}");
            if (o.Sha256 == n.Sha256)
                continue;
            if (kind == "binary")
                yield return new DiffChange(kind, path, $"binary changed: {path} sha256 {o.Sha256} -> {n.Sha256}");
            else if (kind == "key")
                yield return new DiffChange(kind, path, $"private key replaced: {path} (contents not shown)");
            else if (path.EndsWith(".crt", StringComparison.Ordinal) && certificateFiles.Contains(path))
                // Said above, certificate by certificate; PEM lines tell a reader nothing.
                continue;
            else if (o.Content is null || n.Content is null)
                // Views made from manifest records (the report's "changes since the previous build") carry no contents.
                yield return new DiffChange(kind, path, $"file changed: {path} sha256 {o.Sha256} -> {n.Sha256}");
            else
            {
                // Kubeconfigs carry client keys, the encryption config its key: secrets show as "changed", never as text;
                // embedded certificates and PEM blocks are summarised above or named, never printed.
                var lines = Secrets.Diff(path, WithoutCertificates(Encoding.UTF8.GetString(o.Content!)), WithoutCertificates(Encoding.UTF8.GetString(n.Content!)));
                if (lines.Count == 0)
                    continue;
                var secrets = lines.Where(l => l.StartsWith("secret ", StringComparison.Ordinal)).ToList();
                var diff = lines.Except(secrets).ToList();
                if (diff.Count > 0)
                    yield return new DiffChange(kind, path, $"{kind} changed: {path}", string.Join('\n', diff));
                foreach (var secret in secrets)
                    yield return new DiffChange("secret", path, secret);
            }
        }
    }

    private static string Kind(string path, PayloadFile file) =>
        IsBinary(file) ? "binary" : path.EndsWith(".key", StringComparison.Ordinal) ? "key" : "config";

    /// <summary>Certificate and public-key data as a named placeholder: base64 in kubeconfigs, PEM blocks anywhere.</summary>
    private static string WithoutCertificates(string text)
    {
        var noData = CertificateData().Replace(text, m => m.Groups["lead"].Value + "<certificate: see the certificates above>");
        // Private keys are left to Secrets, which names each one that changed.
        return PemBlock().Replace(noData, m => m.Groups["label"].Value.Contains("PRIVATE KEY", StringComparison.Ordinal)
            ? m.Value
            : $"-----{m.Groups["label"].Value}: not shown-----");
    }

    [GeneratedRegex(@"(?<lead>(?:client-certificate-data|certificate-authority-data)\s*:\s*)\S+", RegexOptions.CultureInvariant)]
    private static partial Regex CertificateData();

    [GeneratedRegex(@"-----BEGIN (?<label>[A-Z0-9 ]+)-----.*?-----END \k<label>-----", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex PemBlock();

    /// <summary>The images of the node's archive (its node.json), by lock name: added, removed, or pinned to another digest.</summary>
    private static IEnumerable<DiffChange> CompareImages(BundleView before, BundleView after)
    {
        var old = (before.Record?.Images ?? []).ToDictionary(i => i.Name, StringComparer.Ordinal);
        var @new = (after.Record?.Images ?? []).ToDictionary(i => i.Name, StringComparer.Ordinal);
        foreach (var name in old.Keys.Union(@new.Keys).Order(StringComparer.Ordinal))
        {
            old.TryGetValue(name, out var o);
            @new.TryGetValue(name, out var n);
            if (o is null)
                yield return new DiffChange("image", name, $"image added: {name} {n!.Ref}@{n.Digest} ({n.Arch} manifest {n.ManifestDigest}, {n.Size} bytes)");
            else if (n is null)
                yield return new DiffChange("image", name, $"image removed: {name} {o.Ref}@{o.Digest}");
            else if (o.Ref != n.Ref || o.Digest != n.Digest || o.ManifestDigest != n.ManifestDigest)
                yield return new DiffChange("image", name,
                    $"image changed: {name} {o.Ref}@{o.Digest} -> {n.Ref}@{n.Digest} ({n.Arch} manifest {o.ManifestDigest} -> {n.ManifestDigest})");
        }
    }

    /// <summary>Compared by hash: binaries and image archives (a bundle's view holds no bytes of a large file), and anything that is not text.</summary>
    private static bool IsBinary(PayloadFile file) =>
        file.Kind is { } kind ? kind is "binary" or "images" : file.Content is null || file.Content.AsSpan().Contains((byte)0);

    private static string Date(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
