using System.Globalization;
using Bundler.Configuration;
using Bundler.Inspection;
using Bundler.Layout;
using Bundler.Packaging;

namespace Bundler.Audit;

/// <summary>What changed in one part of a build (the artifacts, the images, kube-nginx, a node): one line per change.</summary>
public sealed record ChangeGroup(string Subject, IReadOnlyList<string> Lines);

/// <summary>
/// The report's "changes since the previous build": what it was compared with (<see cref="Basis"/>), and what changed,
/// from the two manifests. Per node the lines are <c>kbundle diff</c>'s (<see cref="BundleDiff.Compare"/>) over views
/// made from the manifest's records: files by hash, private keys as "replaced", certificates by serial, SANs and expiry.
/// A manifest holds no file contents, so no secret can appear here.
/// </summary>
public sealed record BuildChanges(string Basis, IReadOnlyList<ChangeGroup> Groups)
{
    // No paths: the same state built into two folders gives the same report.
    public static BuildChanges FirstBuild() => new("first build: the output folder held no finished build to compare with", []);

    public static BuildChanges NotCompared(string why) => new($"not compared: {why}", []);

    public static BuildChanges Between(BundleManifest before, string beforeLabel, BundleManifest after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var groups = new List<ChangeGroup>();
        void Add(string subject, List<string> lines)
        {
            if (lines.Count > 0)
                groups.Add(new ChangeGroup(subject, lines));
        }

        var site = new List<string>();
        if (before.Site.Kubernetes != after.Site.Kubernetes)
            site.Add($"Kubernetes {before.Site.Kubernetes} -> {after.Site.Kubernetes}");
        if (before.Site.SourceSha256 != after.Site.SourceSha256)
            site.Add($"site file changed: sha256 {before.Site.SourceSha256} -> {after.Site.SourceSha256}");
        if (before.ToolVersion != after.ToolVersion)
            site.Add($"kbundle {before.ToolVersion} -> {after.ToolVersion}");
        Add("site", site);

        Add("artifacts", Compare(before.Artifacts, after.Artifacts, a => $"{a.Name} ({a.Arch})",
            (o, n) => o.Version != n.Version || o.Checksum != n.Checksum || o.Url != n.Url
                ? $"{n.Name} ({n.Arch}): {o.Version} -> {n.Version}, {o.Algorithm} {o.Checksum} -> {n.Algorithm} {n.Checksum}" : null,
            a => $"{a.Version}, {a.Algorithm} {a.Checksum}"));
        Add("kube-nginx", Compare(before.KubeNginx ?? [], after.KubeNginx ?? [], p => Names.Of(p.Arch),
            (o, n) => o.BinarySha256 != n.BinarySha256
                ? $"{Names.Of(n.Arch)}: nginx {o.Version} -> {n.Version}, binary sha256 {o.BinarySha256} -> {n.BinarySha256}" : null,
            p => $"nginx {p.Version}, binary sha256 {p.BinarySha256}"));
        Add("images", Compare(before.Images ?? [], after.Images ?? [], i => i.Name,
            (o, n) => o.Ref != n.Ref || o.Digest != n.Digest ? $"{n.Name}: {o.Ref}@{o.Digest} -> {n.Ref}@{n.Digest}" : null,
            i => $"{i.Ref}@{i.Digest}"));

        foreach (var node in BundleDiff.Compare(Views(before), Views(after)))
            Add("node " + node.Node, [.. node.Lines]);
        return new BuildChanges($"compared with {beforeLabel}", groups);
    }

    /// <summary>Added, removed and changed items of two lists, by key; "changed" says how (or null: unchanged).</summary>
    private static List<string> Compare<T>(IReadOnlyList<T> before, IReadOnlyList<T> after, Func<T, string> key, Func<T, T, string?> changed, Func<T, string> describe)
    {
        var lines = new List<string>();
        var old = before.GroupBy(key).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var now = after.GroupBy(key).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        foreach (var k in old.Keys.Union(now.Keys).Order(StringComparer.Ordinal))
        {
            if (!old.TryGetValue(k, out var o))
                lines.Add($"added: {k} {describe(now[k])}");
            else if (!now.TryGetValue(k, out var n))
                lines.Add($"removed: {k} {describe(o)}");
            else if (changed(o, n) is { } line)
                lines.Add(line);
        }
        return lines;
    }

    /// <summary>Each node of a manifest as <c>kbundle diff</c> sees a bundle: header fields, files (no contents), certificates.</summary>
    private static List<BundleView> Views(BundleManifest manifest) =>
        manifest.Nodes.Select(n => new BundleView(
            n.Bundle?.File ?? BundleLayout.RunFile(n.Name),
            new Dictionary<string, string>
            {
                [HeaderKeys.Site] = manifest.Site.Name,
                [HeaderKeys.Node] = n.Name,
                [HeaderKeys.Ip] = n.Ip,
                [HeaderKeys.Roles] = string.Join(",", n.Roles),
                [HeaderKeys.Kubernetes] = manifest.Site.Kubernetes,
                [HeaderKeys.Units] = string.Join(" ", n.Units),
            },
            n,
            n.Files.Select(f => new PayloadFile(f.Path, f.Mode, f.Size, f.Sha256, null) { Kind = f.Kind }).ToList(),
            n.Certificates)).ToList();

    /// <summary>How the report names the build it compared with: its manifest's hash, and the date of its report when known.</summary>
    public static string Label(string manifestSha256, DateTimeOffset? reportedAt)
    {
        ArgumentNullException.ThrowIfNull(manifestSha256);
        var at = reportedAt is { } t ? $" of {t.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)}" : "";
        return $"the previous build{at} (manifest.json sha256 {manifestSha256})";
    }
}
