using Bundler.Layout;
using System.Security.Cryptography;
using Bundler.Packaging;
using Bundler.Signing;

namespace Bundler.Inspection;

/// <summary>One thing verify checked, and what was wrong with it if anything.</summary>
public sealed record VerifyCheck(string Subject, bool Ok, string Detail);

/// <summary>The key a verification trusts: its file, its SHA-256 fingerprint (of the DER public key), and whether it is the
/// folder's own signing.pub (which proves the files agree with each other, not who made them).</summary>
public sealed record SigningKeyInfo(string Path, string? Sha256, bool FromFolder);

/// <summary>
/// <c>kbundle verify</c>: the signature over SHA256SUMS, every checksum in it, every .run's header and payload
/// against its own header, and each against manifest.json. Reports every failure, not just the first. Given one .run,
/// checks that bundle against the signed SHA256SUMS of its folder.
/// </summary>
public static class Verifier
{
    /// <summary>The key <see cref="Verify"/> trusts for <paramref name="target"/> (a folder or a .run in one).</summary>
    public static SigningKeyInfo Key(string target, string? publicKeyFile = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        var directory = Folder(target);
        var own = Path.GetFullPath(Path.Combine(directory, BundleLayout.PublicKeyFile));
        var path = Path.GetFullPath(publicKeyFile ?? own);
        return new SigningKeyInfo(path, File.Exists(path) ? Pki.Fingerprints.OfPublicKeyPem(File.ReadAllText(path)) : null, path == own);
    }

    private static string Folder(string target) =>
        File.Exists(target) && !Directory.Exists(target) ? Path.GetDirectoryName(Path.GetFullPath(target))! : target;

    public static IReadOnlyList<VerifyCheck> Verify(string target, string? publicKeyFile = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        var checks = new List<VerifyCheck>();
        void Add(string subject, string? problem, string ok) => checks.Add(new VerifyCheck(subject, problem is null, problem ?? ok));

        // One bundle: the signature and its folder's SHA256SUMS still say whether it is the one that was signed.
        var single = File.Exists(target) && !Directory.Exists(target) ? Path.GetFileName(target) : null;
        if (single is not null && !single.EndsWith(BundleLayout.RunExtension, StringComparison.Ordinal))
            throw new UserInputException($"{target}: not a .run bundle; verify takes a build's folder or one of its .run files");
        var directory = Folder(target);
        if (!Directory.Exists(directory))
            throw new UserInputException($"{target}: no such folder or .run file");
        var sumsPath = Path.Combine(directory, BundleLayout.SumsFile);
        var sigPath = Path.Combine(directory, BundleLayout.SignatureFile);
        var keyPath = publicKeyFile ?? Path.Combine(directory, BundleLayout.PublicKeyFile);
        if (publicKeyFile is not null && !File.Exists(publicKeyFile))
            throw new UserInputException($"--pubkey {publicKeyFile}: file not found");

        byte[]? sums = File.Exists(sumsPath) ? File.ReadAllBytes(sumsPath) : null;
        if (sums is null)
            Add(BundleLayout.SumsFile, "missing (an unfinished or incomplete build)", "");
        else if (!File.Exists(sigPath))
            Add(BundleLayout.SignatureFile, "missing", "");
        else if (!File.Exists(keyPath))
            Add(Path.GetFileName(keyPath), "missing: pass --pubkey FILE", "");
        else
        {
            using var key = ECDsa.Create();
            string? problem = null;
            try
            {
                key.ImportFromPem(File.ReadAllText(keyPath));
                if (!SignStep.Verify(sums, File.ReadAllBytes(sigPath), key))
                    problem = $"signature does not match SHA256SUMS under {keyPath}";
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                problem = $"{keyPath}: not an ECDSA public key in PEM ({e.Message})";
            }
            Add(BundleLayout.SignatureFile, problem, $"ECDSA P-256 signature over SHA256SUMS verified with {keyPath}");
        }

        var listed = new Dictionary<string, string>(StringComparer.Ordinal);
        if (sums is not null)
        {
            try
            {
                foreach (var (sha, name) in Sha256Sums.Parse(System.Text.Encoding.UTF8.GetString(sums), sumsPath))
                    listed[name] = sha;
            }
            catch (IntegrityException e)
            {
                Add(BundleLayout.SumsFile, e.Message, "");
            }
            foreach (var (name, sha) in listed.Where(l => single is null || l.Key == single))
            {
                var path = Path.Combine(directory, name);
                if (name.Contains('/', StringComparison.Ordinal) || !File.Exists(path))
                {
                    Add(name, "listed in SHA256SUMS but missing", "");
                    continue;
                }
                var actual = PayloadWriter.Sha256Hex(path);
                Add(name, actual == sha ? null : $"sha256 is {actual}, SHA256SUMS says {sha}", "sha256 matches SHA256SUMS");
            }
            foreach (var run in Runs(directory, single).Select(Path.GetFileName))
                if (!listed.ContainsKey(run!))
                    Add(run!, "not listed in SHA256SUMS", "");
            if (single is null && !listed.ContainsKey(BundleLayout.ManifestFile))
                Add(BundleLayout.ManifestFile, "not listed in SHA256SUMS", "");
            // The SBOM, the report and INSTALL.txt are signed like the bundles (builds before them had none).
            foreach (var name in BundleLayout.AuditFiles.Where(_ => single is null))
                if (File.Exists(Path.Combine(directory, name)) && !listed.ContainsKey(name))
                    Add(name, "not listed in SHA256SUMS", "");
        }

        BundleManifest? manifest = null;
        var manifestPath = Path.Combine(directory, BundleLayout.ManifestFile);
        try
        {
            manifest = File.Exists(manifestPath) ? BundleManifest.Parse(File.ReadAllBytes(manifestPath), manifestPath) : null;
            if (manifest is null)
                Add(BundleLayout.ManifestFile, "missing", "");
        }
        catch (System.Text.Json.JsonException e)
        {
            Add(BundleLayout.ManifestFile, $"not valid JSON: {e.Message}", "");
        }

        foreach (var run in Runs(directory, single))
        {
            var name = Path.GetFileName(run);
            try
            {
                var reader = BundleReader.Open(run);
                var problems = reader.Problems().ToList();
                var record = manifest?.Nodes.FirstOrDefault(n => n.Bundle?.File == name);
                if (manifest is not null && record is null)
                    problems.Add("no node in manifest.json has this bundle");
                else if (record?.Bundle is { } b)
                {
                    if (b.HeaderSha256 != reader.HeaderSha256 || b.PayloadSha256 != reader.PayloadSha256 || b.PayloadSize != reader.PayloadSize)
                        problems.Add("header and manifest.json disagree on the payload or header hash");
                    if (b.Size != reader.FileSize)
                        problems.Add($"manifest.json says {b.Size} bytes, the file has {reader.FileSize}");
                }
                Add(name + " (header, payload)", problems.Count == 0 ? null : string.Join("; ", problems), "header and payload match their hashes and manifest.json");
            }
            catch (IntegrityException e)
            {
                Add(name + " (header, payload)", e.Message, "");
            }
        }
        return checks;
    }

    private static IEnumerable<string> Runs(string directory, string? single) =>
        single is not null ? [Path.Combine(directory, single)]
            : Directory.EnumerateFiles(directory, "*" + BundleLayout.RunExtension).Order(StringComparer.Ordinal);
}
