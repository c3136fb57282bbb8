using System.Security.Cryptography;
using System.Text;
using Bundler.Layout;
using Bundler.Packaging;
using Bundler.Pipeline;
using Bundler.Pki;

namespace Bundler.Signing;

// Reads: artifacts/<site>/*.run, manifest.json, signing key (state). Writes: SHA256SUMS, SHA256SUMS.sig, signing.pub.
public sealed class SignStep : IStep
{
    public StepName Name => StepName.Sign;
    public string Reads => "artifacts/<site>/*.run, manifest.json, signing key";
    public string Writes => "SHA256SUMS, SHA256SUMS.sig, signing.pub";

    public Task RunAsync(BuildContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var package = context.Get<PackageResult>();
        var pki = context.Get<IPkiResult>();
        using var key = ECDsa.Create();
        key.ImportFromPem(pki.SigningKeyPem);
        if (key.KeySize != 256)
            throw new IntegrityException($"the signing key in {context.StateDir} is ECDSA-{key.KeySize}; bundles are signed with ECDSA P-256");

        // The hashes package computed while writing: 50 bundles are not read back just to be hashed.
        var sums = Sha256Sums.Render(package.Sha256ByFile);
        var names = package.Sha256ByFile.Keys.ToList();
        var signature = ReusedSignature(context.OutDir, sums, key) ?? Sign(sums, key);

        // Order matters for a killed build: the signature and key first, SHA256SUMS (what makes a folder look done) last.
        AtomicFile.WriteAllText(Path.Combine(context.OutDir, BundleLayout.PublicKeyFile), key.ExportSubjectPublicKeyInfoPem() + "\n", NodeFile.Public);
        AtomicFile.WriteAllBytes(Path.Combine(context.OutDir, BundleLayout.SignatureFile), signature, NodeFile.Public);
        AtomicFile.WriteAllBytes(Path.Combine(context.OutDir, BundleLayout.SumsFile), sums, NodeFile.Public);
        foreach (var name in new[] { BundleLayout.SumsFile, BundleLayout.SignatureFile })
            File.Delete(Path.Combine(context.OutDir, "." + name + ".previous"));
        context.Reporter.Info($"{BundleLayout.SumsFile}: {names.Count} files, signed with ECDSA P-256");
        return Task.CompletedTask;
    }

    public static byte[] Sign(byte[] data, ECDsa key) =>
        key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);

    public static bool Verify(byte[] data, byte[] signature, ECDsa key) =>
        key.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);

    /// <summary>
    /// ECDSA signatures are randomised; when SHA256SUMS comes out byte-identical to the previous build's, its
    /// signature is kept so a rebuild leaves the whole folder unchanged.
    /// </summary>
    private static byte[]? ReusedSignature(string outDir, byte[] sums, ECDsa key)
    {
        var previousSums = Path.Combine(outDir, "." + BundleLayout.SumsFile + ".previous");
        var previousSig = Path.Combine(outDir, "." + BundleLayout.SignatureFile + ".previous");
        if (!File.Exists(previousSums) || !File.Exists(previousSig) || !File.ReadAllBytes(previousSums).AsSpan().SequenceEqual(sums))
            return null;
        var signature = File.ReadAllBytes(previousSig);
        return Verify(sums, signature, key) ? signature : null;
    }
}

/// <summary>SHA256SUMS in coreutils format: "&lt;hex&gt;  &lt;name&gt;\n", sorted by name.</summary>
public static class Sha256Sums
{
    public static byte[] Render(IReadOnlyDictionary<string, string> sha256ByName)
    {
        ArgumentNullException.ThrowIfNull(sha256ByName);
        var text = new StringBuilder();
        foreach (var name in sha256ByName.Keys.Order(StringComparer.Ordinal))
            text.Append(sha256ByName[name]).Append("  ").Append(name).Append('\n');
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>Parses SHA256SUMS; a malformed line is an integrity failure naming the line.</summary>
    public static IReadOnlyList<(string Sha256, string Name)> Parse(string text, string source)
    {
        var entries = new List<(string, string)>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length == 0)
                continue;
            var line = lines[i];
            if (line.Length < 67 || line[64] != ' ' || line[65] is not (' ' or '*') || !line[..64].All(Uri.IsHexDigit))
                throw new IntegrityException($"{source}:{i + 1}: not a sha256sum line: {line}");
            entries.Add((line[..64].ToLowerInvariant(), line[66..]));
        }
        return entries;
    }
}
