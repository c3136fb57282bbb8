using System.Text.Json;
using Bundler.Layout;
using Bundler.Packaging;

namespace Bundler.Audit;

/// <summary>
/// Writes what a build leaves beside the bundles for auditors and field engineers (SPEC §9): sbom.cdx.json, report.html
/// and INSTALL.txt, each whole or not at all. Package calls it after manifest.json; sign lists them in SHA256SUMS.
/// </summary>
public static class AuditFiles
{
    /// <summary>The three files' contents, by name: what the build writes, and what <c>kbundle report</c> compares with.</summary>
    public static IReadOnlyDictionary<string, byte[]> Render(BundleManifest manifest, byte[] manifestBytes, string publicKeyPem, ReportHistory history, ToolIdentity tool)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(manifestBytes);
        var serial = BuildSerialOf(manifestBytes);
        var report = new ReportInput(manifest, PayloadWriter.Sha256Hex(manifestBytes), tool, KeyFingerprint.Sha256(publicKeyPem), history) { BuildSerial = serial };
        return new Dictionary<string, byte[]>(StringComparer.Ordinal)
        {
            [BundleLayout.SbomFile] = Sbom.Render(manifest, tool, serial),
            [BundleLayout.ReportFile] = AuditReport.Render(report),
            [BundleLayout.InstallFile] = InstallOrder.Render(manifest),
        };
    }

    /// <summary>
    /// The manifest's <c>buildSerial</c> (SPEC §8: it grows when a build's output differs), read from its bytes so that a
    /// manifest of any format version gives it when it has one; null when it has none.
    /// </summary>
    public static long? BuildSerialOf(byte[] manifestBytes)
    {
        ArgumentNullException.ThrowIfNull(manifestBytes);
        using var document = JsonDocument.Parse(manifestBytes);
        return document.RootElement.TryGetProperty("buildSerial", out var serial) && serial.TryGetInt64(out var value) ? value : null;
    }

    /// <summary>Writes the files into <paramref name="outDir"/> and returns each one's sha256, for SHA256SUMS.</summary>
    public static IReadOnlyDictionary<string, string> Write(string outDir, IReadOnlyDictionary<string, byte[]> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, bytes) in files)
        {
            AtomicFile.WriteAllBytes(Path.Combine(outDir, name), bytes, NodeFile.Public);
            hashes[name] = PayloadWriter.Sha256Hex(bytes);
        }
        return hashes;
    }
}
