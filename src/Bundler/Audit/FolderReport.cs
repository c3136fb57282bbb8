using Bundler.Inspection;
using Bundler.Layout;
using Bundler.Packaging;

namespace Bundler.Audit;

/// <summary>
/// <c>kbundle report DIR [--against OLD]</c>: report.html made again from a build folder, only after the folder verified
/// (signature, every checksum, every bundle). Its date and its changes come from the folder's own report (so the same
/// tool re-creates it byte for byte), or, with <c>--against</c>, the changes are made from OLD's manifest (OLD verified too).
/// </summary>
public static class FolderReport
{
    public static byte[] Recreate(string directory, string? againstDirectory, string? publicKeyFile, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(directory);
        RequireVerified(directory, publicKeyFile);
        if (againstDirectory is not null)
            RequireVerified(againstDirectory, null);

        var (manifestBytes, manifest) = ReadManifest(directory);
        var reportPath = Path.Combine(directory, BundleLayout.ReportFile);
        var shipped = File.Exists(reportPath) ? ReportHistory.FromReport(File.ReadAllBytes(reportPath)) : null;
        var asOf = shipped?.AsOf ?? ReportHistory.Truncate(now);
        ReportHistory history;
        if (againstDirectory is not null)
        {
            var (oldBytes, oldManifest) = ReadManifest(againstDirectory);
            var oldReport = Path.Combine(againstDirectory, BundleLayout.ReportFile);
            var oldAsOf = File.Exists(oldReport) ? ReportHistory.FromReport(File.ReadAllBytes(oldReport))?.AsOf : null;
            history = new ReportHistory(asOf, BuildChanges.Between(oldManifest, BuildChanges.Label(PayloadWriter.Sha256Hex(oldBytes), oldAsOf) + $" in {againstDirectory}", manifest));
        }
        else
        {
            history = shipped ?? new ReportHistory(asOf, BuildChanges.NotCompared($"{directory} holds no report of its own; pass --against OLD to compare with another build"));
        }
        var publicKey = File.ReadAllText(publicKeyFile ?? Path.Combine(directory, BundleLayout.PublicKeyFile));
        return AuditReport.Render(new ReportInput(manifest, PayloadWriter.Sha256Hex(manifestBytes), ToolIdentity.Current, KeyFingerprint.Sha256(publicKey), history)
        {
            BuildSerial = AuditFiles.BuildSerialOf(manifestBytes),
        });
    }

    /// <summary>Runs <c>kbundle verify</c>'s checks; any failure is an integrity error naming every failed check.</summary>
    public static void RequireVerified(string directory, string? publicKeyFile)
    {
        var failed = Verifier.Verify(directory, publicKeyFile).Where(c => !c.Ok).ToList();
        if (failed.Count > 0)
            throw new IntegrityException($"{directory} does not verify, so no report is made from it ({failed.Count} check(s) failed):" + Environment.NewLine +
                                         string.Join(Environment.NewLine, failed.Select(f => $"  {f.Subject}: {f.Detail}")));
    }

    private static (byte[] Bytes, BundleManifest Manifest) ReadManifest(string directory)
    {
        var path = Path.Combine(directory, BundleLayout.ManifestFile);
        var bytes = File.ReadAllBytes(path);
        return (bytes, BundleManifest.Parse(bytes, path));
    }
}
