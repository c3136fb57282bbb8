using System.Security.Cryptography;
using Bundler.Layout;
using Bundler.Pki;

namespace Bundler.Signing;

/// <summary>
/// The bundle signing key pair (ECDSA P-256, SPEC §2), kept in state/&lt;site&gt;/signing.key and never shipped; its
/// public half also sits beside it as signing.pub.
/// </summary>
public sealed record SigningKey(string PrivateKeyPem, string PublicKeyPem)
{
    public const string File = "signing.key";
    public const string PublicFile = "signing.pub";

    /// <summary>Loads the key from state, or makes one the first time; a key that is not P-256 is bad state.</summary>
    public static SigningKey Ensure(string stateDir)
    {
        var path = Path.Combine(stateDir, File);
        string pem;
        if (System.IO.File.Exists(path))
        {
            pem = System.IO.File.ReadAllText(path);
            using var existing = Keys.ImportPrivatePem(pem, path);
            if (existing is not ECDsa { KeySize: 256 })
                throw Keys.BadState(path, "is not an ECDSA P-256 key (the bundle signing key)");
        }
        else
        {
            using var created = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            pem = Keys.ExportPrivatePem(created);
            AtomicFile.WriteAllText(path, pem, NodeFile.Secret);
        }
        using var key = Keys.ImportPrivatePem(pem, path);
        var publicPem = Keys.ExportPublicPem(key);
        AtomicFile.WriteIfChanged(Path.Combine(stateDir, PublicFile), publicPem, NodeFile.Public);
        return new SigningKey(pem, publicPem);
    }

    /// <summary>The key, for signing; the caller disposes it.</summary>
    public ECDsa Open()
    {
        var key = ECDsa.Create();
        key.ImportFromPem(PrivateKeyPem);
        return key;
    }
}
