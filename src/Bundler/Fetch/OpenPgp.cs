using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace Bundler.Fetch;

/// <summary>
/// One public key of a lock's <c>keys/</c> folder (<c>keys/&lt;FINGERPRINT&gt;.asc</c>, SPEC §5): exactly one primary
/// key with its subkeys, armored or binary, as upstream publishes it (<c>gpg --export --armor</c>).
/// </summary>
public sealed class OpenPgpKeyFile
{
    private OpenPgpKeyFile(string path, PgpPublicKeyRing ring)
    {
        Path = path;
        Ring = ring;
        Fingerprint = OpenPgp.Fingerprint(ring.GetPublicKey());
    }

    public string Path { get; }

    /// <summary>The primary key's v4 fingerprint: 40 upper-case hex digits, the form the lock lists.</summary>
    public string Fingerprint { get; }

    internal PgpPublicKeyRing Ring { get; }

    /// <summary>Reads a key file; <see cref="InvalidDataException"/> says what is wrong with it.</summary>
    public static OpenPgpKeyFile Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        List<PgpPublicKeyRing> rings;
        try
        {
            using var file = File.OpenRead(path);
            using var decoded = PgpUtilities.GetDecoderStream(file);
            rings = new PgpPublicKeyRingBundle(decoded).GetKeyRings().ToList();
        }
        catch (Exception e) when (OpenPgp.IsParseFailure(e))
        {
            throw new InvalidDataException($"not an OpenPGP public key ({e.Message})", e);
        }
        return rings.Count switch
        {
            1 => new OpenPgpKeyFile(path, rings[0]),
            0 => throw new InvalidDataException("holds no OpenPGP public key"),
            _ => throw new InvalidDataException(
                $"holds {rings.Count} keys ({string.Join(", ", rings.Select(r => OpenPgp.Fingerprint(r.GetPublicKey())))}); one key per file, named by its fingerprint"),
        };
    }
}

/// <summary>Who made a good signature: the lock's fingerprint (primary key) and the key that signed (it or a subkey).</summary>
public sealed record OpenPgpSigner(string Fingerprint, string SigningKey, DateTime SignedAt);

/// <summary>A detached signature that does not prove the file came from an allowed key; the message says why.</summary>
public sealed class OpenPgpSignatureException(string message) : Exception(message);

/// <summary>
/// Verifies OpenPGP detached signatures (RFC 4880 / 9580 v4) with BouncyCastle: the BCL has no OpenPGP.
/// A signature counts when it is a binary-document signature over the file, made with a collision-resistant
/// hash by an allowed primary key or by one of its subkeys that the primary key binds for signing (subkey binding
/// signature with the sign flag, and the subkey's cross-signature back, as GnuPG requires), neither revoked nor
/// expired when the signature was made.
/// </summary>
public static class OpenPgp
{
    // SHA-1 and older allow chosen-prefix collisions (SHAmbles, 2020): one signature could cover two different files.
    private static readonly HashAlgorithmTag[] WeakHashes = [HashAlgorithmTag.MD5, HashAlgorithmTag.Sha1, HashAlgorithmTag.RipeMD160, HashAlgorithmTag.MD2, HashAlgorithmTag.Tiger192, HashAlgorithmTag.Haval5pass160];

    /// <summary>A detached signature is a few hundred bytes; anything far larger is not one.</summary>
    public const int MaxSignatureBytes = 1 << 20;

    public static string Fingerprint(PgpPublicKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Convert.ToHexString(key.GetFingerprint());
    }

    /// <summary>
    /// Checks <paramref name="signature"/> (armored or binary) over the file at <paramref name="dataPath"/>; returns
    /// the signer, or throws <see cref="OpenPgpSignatureException"/> naming what failed.
    /// </summary>
    public static async Task<OpenPgpSigner> VerifyAsync(string dataPath, byte[] signature, IReadOnlyList<OpenPgpKeyFile> allowed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataPath);
        ArgumentNullException.ThrowIfNull(signature);
        ArgumentNullException.ThrowIfNull(allowed);
        var problems = new List<string>();
        foreach (var sig in ReadSignatures(signature))
        {
            var issuer = Issuer(sig);
            var matches = allowed.SelectMany(k => k.Ring.GetPublicKeys().Where(key => key.KeyId == sig.KeyId && (issuer is null || Fingerprint(key) == issuer))
                .Select(key => (File: k, Key: key))).ToList();
            if (matches.Count == 0)
            {
                var signer = issuer ?? "id " + sig.KeyId.ToString("X16", System.Globalization.CultureInfo.InvariantCulture);
                problems.Add($"signed by an unknown key {signer}; " +
                             $"allowed: {string.Join(", ", allowed.Select(k => k.Fingerprint))} and their signing subkeys");
                continue;
            }
            foreach (var (file, key) in matches)
            {
                var who = key.IsMasterKey ? $"key {file.Fingerprint}" : $"subkey {Fingerprint(key)} of key {file.Fingerprint}";
                if (sig.SignatureType != PgpSignature.BinaryDocument)
                {
                    problems.Add($"{who} made a signature of type 0x{sig.SignatureType:x2}, not over a binary document (gpg --detach-sign)");
                    continue;
                }
                if (WeakHashes.Contains(sig.HashAlgorithm))
                {
                    problems.Add($"{who} signed with {sig.HashAlgorithm}, which is not collision resistant; allowed: SHA-2 or newer");
                    continue;
                }
                if (CannotSign(file.Ring, key, sig.CreationTime) is { } why)
                {
                    problems.Add($"{who} {why}");
                    continue;
                }
                if (!await VerifiesAsync(sig, key, dataPath, cancellationToken).ConfigureAwait(false))
                {
                    problems.Add($"BAD signature from {who}: the file is not what was signed");
                    continue;
                }
                return new OpenPgpSigner(file.Fingerprint, Fingerprint(key), sig.CreationTime);
            }
        }
        throw new OpenPgpSignatureException(string.Join("; ", problems));
    }

    private static List<PgpSignature> ReadSignatures(byte[] signature)
    {
        if (signature.Length > MaxSignatureBytes)
            throw new OpenPgpSignatureException($"{signature.Length} bytes is too large for a detached signature");
        try
        {
            using var decoded = PgpUtilities.GetDecoderStream(new MemoryStream(signature, writable: false));
            var found = new PgpObjectFactory(decoded).NextPgpObject();
            if (found is not PgpSignatureList list || list.IsEmpty)
                throw new OpenPgpSignatureException($"not a detached signature (it holds {found?.GetType().Name ?? "nothing"})");
            return Enumerable.Range(0, list.Count).Select(i => list[i]).ToList();
        }
        catch (Exception e) when (IsParseFailure(e))
        {
            throw new OpenPgpSignatureException($"not a readable OpenPGP signature ({e.Message})");
        }
    }

    /// <summary>The issuer fingerprint subpacket when present (v4 signatures by GnuPG 2.2+ carry it), upper-case hex.</summary>
    private static string? Issuer(PgpSignature sig)
    {
        var packet = sig.GetHashedSubPackets()?.GetIssuerFingerprint() ?? sig.GetUnhashedSubPackets()?.GetIssuerFingerprint();
        return packet is null ? null : Convert.ToHexString(packet.GetFingerprint());
    }

    private static async Task<bool> VerifiesAsync(PgpSignature sig, PgpPublicKey key, string dataPath, CancellationToken cancellationToken)
    {
        try
        {
            sig.InitVerify(key);
        }
        catch (PgpException e)
        {
            throw new OpenPgpSignatureException($"key {Fingerprint(key)} cannot check a {sig.KeyAlgorithm} signature ({e.Message})");
        }
        var buffer = new byte[1 << 20];
        await using var data = new FileStream(dataPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan | FileOptions.Asynchronous);
        int read;
        while ((read = await data.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            sig.Update(buffer, 0, read);
        // A mangled signature value (out of range for the curve or modulus) is a bad signature, not a crash.
        return Try(sig.Verify);
    }

    /// <summary>Null when <paramref name="key"/> (the primary key of <paramref name="ring"/> or a subkey) could sign data at <paramref name="at"/>; else why not.</summary>
    private static string? CannotSign(PgpPublicKeyRing ring, PgpPublicKey key, DateTime at)
    {
        var primary = ring.GetPublicKey();
        if (Revoked(primary, primary, PgpSignature.KeyRevocation))
            return $"belongs to key {Fingerprint(primary)}, which is revoked";
        var self = LatestValid(SelfSignatures(primary), primary);
        if (self is null)
            return "belongs to a key without a valid self-signature";
        if (Expired(primary, self, at) is { } primaryExpiry)
            return $"belongs to key {Fingerprint(primary)}, which expired on {primaryExpiry:yyyy-MM-dd} (signature made {at:yyyy-MM-dd})";

        var binding = self;
        if (!key.IsMasterKey)
        {
            if (Revoked(key, primary, PgpSignature.SubkeyRevocation))
                return "is revoked";
            binding = LatestValid(key.GetSignaturesOfType(PgpSignature.SubkeyBinding), primary, s => s.VerifyCertification(primary, key));
            if (binding is null)
                return "is not bound to its primary key by a valid signature";
            if (!CrossCertified(binding, primary, key))
                return "is not cross-certified (no valid primary key binding signature from the subkey), so it may not sign for this key";
        }
        if (at < key.CreationTime)
            return $"made a signature dated {at:yyyy-MM-dd}, before the key existed";
        var flags = binding.GetHashedSubPackets()?.HasSubpacket(SignatureSubpacketTag.KeyFlags) == true ? binding.GetHashedSubPackets().GetKeyFlags() : (int?)null;
        // Without key flags (keys from before RFC 4880) the algorithm decides, as in GnuPG; subkeys always say.
        if (flags is { } f ? (f & PgpKeyFlags.CanSign) == 0 : !key.IsMasterKey)
            return "is not allowed to sign data (no sign flag)";
        if (!key.IsMasterKey && Expired(key, binding, at) is { } keyExpiry)
            return $"expired on {keyExpiry:yyyy-MM-dd} (signature made {at:yyyy-MM-dd})";
        return null;
    }

    /// <summary>The primary key's certifications of its own user ids, and its direct-key signatures: where its flags and expiry live.</summary>
    private static IEnumerable<(PgpSignature, Func<PgpSignature, bool>)> SelfSignatures(PgpPublicKey primary) =>
        primary.GetUserIds()
            .SelectMany(id => primary.GetSignaturesForId(id).Where(s => s.IsCertification())
                .Select(s => (s, (Func<PgpSignature, bool>)(x => x.VerifyCertification(id, primary)))))
            .Concat(primary.GetSignaturesOfType(PgpSignature.DirectKey).Select(s => (s, (Func<PgpSignature, bool>)(x => x.VerifyCertification(primary)))));

    private static PgpSignature? LatestValid(IEnumerable<PgpSignature> signatures, PgpPublicKey issuer, Func<PgpSignature, bool> verify) =>
        LatestValid(signatures.Select(s => (s, verify)), issuer);

    /// <summary>The newest signature by <paramref name="issuer"/> that verifies.</summary>
    private static PgpSignature? LatestValid(IEnumerable<(PgpSignature Signature, Func<PgpSignature, bool> Verify)> candidates, PgpPublicKey issuer) =>
        candidates.Where(c => c.Signature.KeyId == issuer.KeyId).OrderByDescending(c => c.Signature.CreationTime)
            .FirstOrDefault(c => Try(() =>
            {
                c.Signature.InitVerify(issuer);
                return c.Verify(c.Signature);
            })).Signature;

    /// <summary>A revocation counts only if the primary key made it (a forged one is ignored, as GnuPG does).</summary>
    private static bool Revoked(PgpPublicKey key, PgpPublicKey primary, int type) =>
        LatestValid(key.GetSignaturesOfType(type), primary, s => key.IsMasterKey ? s.VerifyCertification(key) : s.VerifyCertification(primary, key)) is not null;

    /// <summary>A signing subkey must sign back (primary key binding signature, embedded in the binding): nobody can adopt someone else's subkey.</summary>
    private static bool CrossCertified(PgpSignature binding, PgpPublicKey primary, PgpPublicKey subkey)
    {
        // GnuPG embeds it in the unhashed area; it needs no outer protection, being itself a signature by the subkey.
        var back = new[] { binding.GetHashedSubPackets(), binding.GetUnhashedSubPackets() }.OfType<PgpSignatureSubpacketVector>()
            .Select(v => v.GetEmbeddedSignatures())
            .SelectMany(list => Enumerable.Range(0, list.Count).Select(i => list[i]))
            .Where(s => s.SignatureType == PgpSignature.PrimaryKeyBinding);
        return LatestValid(back, subkey, s => s.VerifyCertification(primary, subkey)) is not null;
    }

    private static DateTime? Expired(PgpPublicKey key, PgpSignature selfOrBinding, DateTime at)
    {
        var hashed = selfOrBinding.GetHashedSubPackets();
        if (hashed is null || !hashed.HasKeyExpirationTime() || hashed.GetKeyExpirationTime() == 0)
            return null;
        var expiry = key.CreationTime.AddSeconds(hashed.GetKeyExpirationTime());
        return at >= expiry ? expiry : null;
    }

    private static bool Try(Func<bool> check)
    {
        try
        {
            return check();
        }
        catch (Exception e) when (IsParseFailure(e))
        {
            return false;
        }
    }

    /// <summary>What BouncyCastle throws on malformed input (a key or signature file is untrusted input).</summary>
    internal static bool IsParseFailure(Exception e) =>
        e is IOException or PgpException or ArgumentException or InvalidOperationException or FormatException or InvalidCastException
            or IndexOutOfRangeException or NotSupportedException or Org.BouncyCastle.Crypto.CryptoException or Org.BouncyCastle.Security.SecurityUtilityException;
}
