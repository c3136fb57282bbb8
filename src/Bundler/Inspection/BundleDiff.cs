using Bundler.Layout;
using System.Globalization;
using System.Text;
using Bundler.Packaging;

namespace Bundler.Inspection;

/// <summary>What changed on one node between two builds; <see cref="Lines"/> is empty when nothing did.</summary>
public sealed record NodeDiff(string Node, IReadOnlyList<string> Lines);

/// <summary><c>kbundle diff OLD NEW</c>: binaries by hash, configs as unified diffs, certificates by serial, SANs and expiry.</summary>
public static class BundleDiff
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
            if (before is null) { result.Add(new NodeDiff(name, ["node added"])); continue; }
            if (after is null) { result.Add(new NodeDiff(name, ["node removed"])); continue; }
            result.Add(new NodeDiff(name, CompareNode(before, after)));
        }
        return result;
    }

    private static List<string> CompareNode(BundleView before, BundleView after)
    {
        var lines = new List<string>();
        foreach (var key in new[] { HeaderKeys.Roles, HeaderKeys.Ip, HeaderKeys.Kubernetes, HeaderKeys.Units })
            if (before.Header.GetValueOrDefault(key) != after.Header.GetValueOrDefault(key))
                lines.Add($"{key[HeaderKeys.Prefix.Length..].ToLowerInvariant()}: {before.Header.GetValueOrDefault(key)} -> {after.Header.GetValueOrDefault(key)}");

        var oldFiles = before.Files.ToDictionary(f => f.Path);
        var newFiles = after.Files.ToDictionary(f => f.Path);
        foreach (var path in oldFiles.Keys.Union(newFiles.Keys).Order(StringComparer.Ordinal))
        {
            oldFiles.TryGetValue(path, out var o);
            newFiles.TryGetValue(path, out var n);
            if (o is null) { lines.Add($"file added: {path} ({n!.Mode}, {n.Size} bytes, sha256 {n.Sha256})"); continue; }
            if (n is null) { lines.Add($"file removed: {path}"); continue; }
            if (o.Mode != n.Mode)
                lines.Add($"mode changed: {path} {o.Mode} -> {n.Mode}");
            if (o.Sha256 == n.Sha256)
                continue;
            if (IsBinary(o) || IsBinary(n))
                lines.Add($"binary changed: {path} sha256 {o.Sha256} -> {n.Sha256}");
            else if (path.EndsWith(".key", StringComparison.Ordinal))
                lines.Add($"private key replaced: {path} (contents not shown)");
            else if (o.Content is null || n.Content is null)
                // Views made from manifest records (the report's "changes since the previous build") carry no contents.
                lines.Add($"file changed: {path} sha256 {o.Sha256} -> {n.Sha256}");
            else
                // Kubeconfigs carry client keys, the encryption config its key: secrets show as "changed", never as text.
                lines.AddRange(Secrets.Diff(path, Encoding.UTF8.GetString(o.Content!), Encoding.UTF8.GetString(n.Content!)));
        }

        lines.AddRange(CompareImages(before, after));

        var oldCerts = before.Certificates.ToLookup(c => (c.Path, c.Subject));
        var newCerts = after.Certificates.ToLookup(c => (c.Path, c.Subject));
        foreach (var key in oldCerts.Select(g => g.Key).Union(newCerts.Select(g => g.Key)).OrderBy(k => k.Path, StringComparer.Ordinal).ThenBy(k => k.Subject, StringComparer.Ordinal))
        {
            var o = oldCerts[key].FirstOrDefault();
            var n = newCerts[key].FirstOrDefault();
            if (o is null) { lines.Add($"certificate added: {key.Path} {key.Subject} (expires {Date(n!.NotAfter)})"); continue; }
            if (n is null) { lines.Add($"certificate removed: {key.Path} {key.Subject}"); continue; }
            if (o.SerialNumber == n.SerialNumber)
                continue;
            var detail = new List<string>();
            var added = n.Sans.Except(o.Sans).ToList();
            var removed = o.Sans.Except(n.Sans).ToList();
            if (added.Count > 0) detail.Add("SANs added " + string.Join(",", added));
            if (removed.Count > 0) detail.Add("SANs removed " + string.Join(",", removed));
            if (o.NotAfter != n.NotAfter) detail.Add($"expiry {Date(o.NotAfter)} -> {Date(n.NotAfter)}");
            if (o.Issuer != n.Issuer) detail.Add($"issuer {o.Issuer} -> {n.Issuer}");
            lines.Add($"certificate re-issued: {key.Path} {key.Subject} serial {o.SerialNumber} -> {n.SerialNumber}" +
                      (detail.Count > 0 ? "; " + string.Join("; ", detail) : ""));
        }
        return lines;
    }

    /// <summary>The images of the node's archive (its node.json), by lock name: added, removed, or pinned to another digest.</summary>
    private static IEnumerable<string> CompareImages(BundleView before, BundleView after)
    {
        var old = (before.Record?.Images ?? []).ToDictionary(i => i.Name, StringComparer.Ordinal);
        var @new = (after.Record?.Images ?? []).ToDictionary(i => i.Name, StringComparer.Ordinal);
        foreach (var name in old.Keys.Union(@new.Keys).Order(StringComparer.Ordinal))
        {
            old.TryGetValue(name, out var o);
            @new.TryGetValue(name, out var n);
            if (o is null)
                yield return $"image added: {name} {n!.Ref}@{n.Digest} ({n.Arch} manifest {n.ManifestDigest}, {n.Size} bytes)";
            else if (n is null)
                yield return $"image removed: {name} {o.Ref}@{o.Digest}";
            else if (o.Ref != n.Ref || o.Digest != n.Digest || o.ManifestDigest != n.ManifestDigest)
                yield return $"image changed: {name} {o.Ref}@{o.Digest} -> {n.Ref}@{n.Digest} ({n.Arch} manifest {o.ManifestDigest} -> {n.ManifestDigest})";
        }
    }

    /// <summary>Compared by hash: binaries and image archives (a bundle's view holds no bytes of a large file), and anything that is not text.</summary>
    private static bool IsBinary(PayloadFile file) =>
        file.Kind is { } kind ? kind is "binary" or "images" : file.Content is null || file.Content.AsSpan().Contains((byte)0);

    private static string Date(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
