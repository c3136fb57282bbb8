using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Bundler.Layout;
using Bundler.Packaging;
using Bundler.Signing;

namespace Bundler.Audit;

/// <summary>
/// What a report knows that its folder's manifest does not: the moment the build was reported (days left are counted
/// from it) and what changed since the build before. Both belong to the build, not to the run that writes the report:
/// an unchanged rebuild, and <c>kbundle report DIR</c>, take them from the report already in the folder (embedded in it as
/// a JSON data block, never run) so the page comes out byte-identical.
/// </summary>
public sealed partial record ReportHistory(DateTimeOffset AsOf, BuildChanges Changes)
{
    public const string ElementId = "kbundle-report-history";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        // The default encoder escapes <, > and & (and everything outside ASCII): the JSON cannot end its <script> element.
        Encoder = JavaScriptEncoder.Default,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    [GeneratedRegex("<script type=\"application/json\" id=\"" + ElementId + "\">(?<json>[^<]*)</script>")]
    private static partial Regex Block();

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>The history embedded in a report this tool wrote; null when there is none or it cannot be read.</summary>
    public static ReportHistory? FromReport(byte[] html)
    {
        ArgumentNullException.ThrowIfNull(html);
        var match = Block().Match(Encoding.UTF8.GetString(html));
        if (!match.Success)
            return null;
        try
        {
            return JsonSerializer.Deserialize<ReportHistory>(match.Groups["json"].Value, Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The moment a report is made: whole seconds, so that what it prints and what it embeds agree.</summary>
    public static DateTimeOffset Truncate(DateTimeOffset at) => DateTimeOffset.FromUnixTimeSeconds(at.ToUnixTimeSeconds());

    public string AsOfText => AsOf.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
}

/// <summary>
/// The finished build an output folder held before this one: its manifest and report, read (and checked against the
/// signed SHA256SUMS package took out of the folder) before anything in the folder is replaced.
/// </summary>
public sealed record PreviousBuild(byte[]? ManifestBytes, BundleManifest? Manifest, ReportHistory? History, BuildChanges? Unusable)
{
    /// <summary>
    /// Reads what a previous build left. A folder with no SHA256SUMS held no finished build; one signed by another key, or
    /// whose files do not match their sums, is not compared with (the report says why).
    /// </summary>
    public static PreviousBuild Read(string outDir, SignedSums? sums, string publicKeyPem)
    {
        ArgumentNullException.ThrowIfNull(outDir);
        ArgumentNullException.ThrowIfNull(publicKeyPem);
        if (sums is null)
            return new(null, null, null, BuildChanges.FirstBuild());
        using (var key = System.Security.Cryptography.ECDsa.Create())
        {
            key.ImportFromPem(publicKeyPem);
            if (!SignStep.Verify(sums.Sums, sums.Signature, key))
                return new(null, null, null, BuildChanges.NotCompared("the build the output folder held was not signed by this site's signing key"));
        }
        IReadOnlyList<(string Sha256, string Name)> listed;
        try
        {
            listed = Sha256Sums.Parse(Encoding.UTF8.GetString(sums.Sums), BundleLayout.SumsFile);
        }
        catch (IntegrityException e)
        {
            return new(null, null, null, BuildChanges.NotCompared(e.Message));
        }
        var manifestBytes = ListedBytes(outDir, listed, BundleLayout.ManifestFile);
        if (manifestBytes is null)
            return new(null, null, null, BuildChanges.NotCompared($"the previous {BundleLayout.ManifestFile} is missing or does not match its SHA256SUMS line"));
        BundleManifest manifest;
        try
        {
            manifest = BundleManifest.Parse(manifestBytes, BundleLayout.ManifestFile);
        }
        catch (Exception e) when (e is JsonException or IntegrityException)
        {
            return new(null, null, null, BuildChanges.NotCompared($"the previous {BundleLayout.ManifestFile} cannot be read: {e.Message}"));
        }
        var report = ListedBytes(outDir, listed, BundleLayout.ReportFile);
        return new(manifestBytes, manifest, report is null ? null : ReportHistory.FromReport(report), null);
    }

    /// <summary>A file's bytes when SHA256SUMS lists it and they match; else null.</summary>
    private static byte[]? ListedBytes(string outDir, IReadOnlyList<(string Sha256, string Name)> listed, string name)
    {
        var sha = listed.FirstOrDefault(l => l.Name == name).Sha256;
        var path = Path.Combine(outDir, name);
        if (sha is null || !File.Exists(path))
            return null;
        var bytes = File.ReadAllBytes(path);
        return PayloadWriter.Sha256Hex(bytes) == sha ? bytes : null;
    }

    /// <summary>
    /// The history of the build being written: the previous one's when nothing changed (same manifest bytes, and its report
    /// could be read), else reported <paramref name="now"/> with the changes from the previous manifest.
    /// </summary>
    public ReportHistory HistoryFor(byte[] manifestBytes, BundleManifest manifest, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(manifestBytes);
        if (History is { } kept && ManifestBytes is { } before && before.AsSpan().SequenceEqual(manifestBytes))
            return kept;
        var changes = Unusable ?? BuildChanges.Between(Manifest!, BuildChanges.Label(PayloadWriter.Sha256Hex(ManifestBytes!), History?.AsOf), manifest);
        return new ReportHistory(ReportHistory.Truncate(now), changes);
    }
}
