using Bundler.Layout;
using Bundler.Packaging;
using Bundler.Signing;

namespace Bundler.Pipeline;

/// <summary>One bundle a build wrote: where, how big, its sha256, and how it compares with the previous build's.</summary>
public sealed record BundleOutcome(string Node, string File, string Path, long Size, string Sha256, string Change);

/// <summary>What a build's bundles are next to the previous build in the same folder: new, changed, unchanged (what it installs), removed.</summary>
public static class BundleChanges
{
    public const string New = "new";
    public const string Changed = "changed";
    public const string Unchanged = "unchanged";

    /// <summary>
    /// Each bundle against the previous build's: by what it installs (<see cref="BundleRecord.ContentSha256"/>: a new
    /// serial alone changes every bundle's bytes, not what it does), else by its bytes as the previous SHA256SUMS lists them.
    /// </summary>
    public static IReadOnlyList<BundleOutcome> Of(string outDir, PackageResult packaged)
    {
        ArgumentNullException.ThrowIfNull(packaged);
        var before = Previous(packaged);
        var contentBefore = (packaged.PreviousManifest?.Nodes ?? []).Select(n => n.Bundle).OfType<BundleRecord>()
            .Where(b => b.ContentSha256 is not null).ToDictionary(b => b.File, b => b.ContentSha256!, StringComparer.Ordinal);
        return packaged.Manifest.Nodes.Where(n => n.Bundle is not null).Select(n =>
        {
            var bundle = n.Bundle!;
            var change = !before.TryGetValue(bundle.File, out var sha) ? New
                : sha == bundle.Sha256 ? Unchanged
                : bundle.ContentSha256 is not null && contentBefore.TryGetValue(bundle.File, out var content) && content == bundle.ContentSha256 ? Unchanged
                : Changed;
            return new BundleOutcome(n.Name, bundle.File, System.IO.Path.Combine(outDir, bundle.File), bundle.Size, bundle.Sha256, change);
        }).OrderBy(b => b.File, StringComparer.Ordinal).ToList();
    }

    /// <summary>Bundles the previous build had that this one no longer writes.</summary>
    public static IReadOnlyList<string> Removed(PackageResult packaged)
    {
        ArgumentNullException.ThrowIfNull(packaged);
        var now = packaged.Manifest.Nodes.Select(n => n.Bundle?.File).OfType<string>().ToHashSet(StringComparer.Ordinal);
        return Previous(packaged).Keys.Where(f => f.EndsWith(BundleLayout.RunExtension, StringComparison.Ordinal) && !now.Contains(f))
            .Order(StringComparer.Ordinal).ToList();
    }

    private static Dictionary<string, string> Previous(PackageResult packaged)
    {
        if (packaged.Previous is null)
            return new(StringComparer.Ordinal);
        try
        {
            return Sha256Sums.Parse(System.Text.Encoding.UTF8.GetString(packaged.Previous.Sums), BundleLayout.SumsFile)
                .ToDictionary(e => e.Name, e => e.Sha256, StringComparer.Ordinal);
        }
        catch (IntegrityException)
        {
            // A damaged SHA256SUMS from before: every bundle counts as new.
            return new(StringComparer.Ordinal);
        }
    }
}
