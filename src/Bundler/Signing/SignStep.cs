using System.Security.Cryptography;
using System.Text;
using Bundler.Layout;
using Bundler.Packaging;
using Bundler.Pipeline;

namespace Bundler.Signing;

/// <summary>What sign hands on: SHA256SUMS, its signature and the public key, as written.</summary>
public sealed record SignResult(byte[] Sums, byte[] Signature, string PublicKeyPem);

/// <summary>A SHA256SUMS and its signature, as a previous build left them.</summary>
public sealed record SignedSums(byte[] Sums, byte[] Signature)
{
    /// <summary>
    /// Reads the folder's SHA256SUMS and signature, then deletes them (SHA256SUMS first: it marks a finished folder),
    /// so a folder whose bundles are being rewritten never looks finished. Null when there were none.
    /// </summary>
    public static SignedSums? TakeFrom(string outDir)
    {
        var sumsPath = Path.Combine(outDir, BundleLayout.SumsFile);
        var signaturePath = Path.Combine(outDir, BundleLayout.SignatureFile);
        var previous = File.Exists(sumsPath) && File.Exists(signaturePath)
            ? new SignedSums(File.ReadAllBytes(sumsPath), File.ReadAllBytes(signaturePath))
            : null;
        File.Delete(sumsPath);
        File.Delete(signaturePath);
        return previous;
    }
}

// Writes: signing.pub, SHA256SUMS.sig, then SHA256SUMS (the mark of a finished folder) in artifacts/<site>/ (--out).
public static class SignStep
{
    public static Task<SignResult> RunAsync(BuildInputs inputs, PackageResult packaged, SigningKey signingKey, IBuildReporter reporter,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(packaged);
        ArgumentNullException.ThrowIfNull(signingKey);
        ArgumentNullException.ThrowIfNull(reporter);
        cancellationToken.ThrowIfCancellationRequested();
        using var key = signingKey.Open();
        if (key.KeySize != 256)
            throw new IntegrityException($"the signing key in {inputs.StateDir} is ECDSA-{key.KeySize}; bundles are signed with ECDSA P-256");

        // The hashes package computed while writing: 50 bundles are not read back just to be hashed. What is signed must
        // still be what is in the folder: a file whose identity changed since package wrote it is hashed again.
        CheckUnchanged(inputs.OutDir, packaged);
        var sums = Sha256Sums.Render(packaged.Sha256ByFile);
        // ECDSA signatures are randomised: when SHA256SUMS comes out byte-identical to the previous build's, its
        // signature is kept so a rebuild leaves the whole folder unchanged.
        var signature = packaged.Previous is { } previous && previous.Sums.AsSpan().SequenceEqual(sums) && Verify(sums, previous.Signature, key)
            ? previous.Signature
            : Sign(sums, key);

        // Order matters for a killed build: the signature and key first, SHA256SUMS (what makes a folder look done) last.
        var outDir = inputs.OutDir;
        AtomicFile.WriteAllText(Path.Combine(outDir, BundleLayout.PublicKeyFile), signingKey.PublicKeyPem, NodeFile.Public);
        AtomicFile.WriteAllBytes(Path.Combine(outDir, BundleLayout.SignatureFile), signature, NodeFile.Public);
        AtomicFile.WriteAllBytes(Path.Combine(outDir, BundleLayout.SumsFile), sums, NodeFile.Public);
        // The folder is finished: its serial is the site's latest (docs/pki.md: the one file of state not written by pki).
        packaged.Build?.Record(inputs.StateDir);
        reporter.Info($"{BundleLayout.SumsFile}: {packaged.Sha256ByFile.Count} files, signed with ECDSA P-256");
        return Task.FromResult(new SignResult(sums, signature, signingKey.PublicKeyPem));
    }

    private static void CheckUnchanged(string outDir, PackageResult packaged)
    {
        foreach (var (name, sha) in packaged.Sha256ByFile)
        {
            var path = Path.Combine(outDir, name);
            var identity = packaged.IdentityByFile.GetValueOrDefault(name);
            if (identity is not null && FileIdentity.Of(path) == identity)
                continue;
            var actual = File.Exists(path) ? Packaging.PayloadWriter.Sha256Hex(path) : "(missing)";
            if (actual != sha)
                throw new IntegrityException($"{path} changed after the package step wrote it (sha256 {actual}, written as {sha}): " +
                                             "nothing was signed; run the build again, and find what else writes into the output folder");
        }
    }

    public static byte[] Sign(byte[] data, ECDsa key) =>
        key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);

    public static bool Verify(byte[] data, byte[] signature, ECDsa key) =>
        key.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
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
