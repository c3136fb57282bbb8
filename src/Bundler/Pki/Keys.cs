using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Bundler.Configuration;

namespace Bundler.Pki;

/// <summary>Key generation, PEM in and out, and signing with .NET's own crypto (pki-spec.md §8).</summary>
public static class Keys
{
    public const string RsaOid = "1.2.840.113549.1.1.1";
    public const string EcOid = "1.2.840.10045.2.1";

    /// <summary>A new key, generated now (on the calling thread), not on first use.</summary>
    public static AsymmetricAlgorithm Generate(KeyAlgorithm algorithm)
    {
        AsymmetricAlgorithm key = algorithm switch
        {
            KeyAlgorithm.Rsa2048 => RSA.Create(2048),
            KeyAlgorithm.Rsa3072 => RSA.Create(3072),
            KeyAlgorithm.Rsa4096 => RSA.Create(4096),
            _ => ECDsa.Create(ECCurve.NamedCurves.nistP256),
        };
        // RSA.Create(size) defers the expensive generation to the key's first use; touching it here keeps the
        // work inside the caller's Parallel.ForEach instead of the sequential signing loop after it.
        _ = key.ExportSubjectPublicKeyInfo();
        return key;
    }

    /// <summary>PKCS#1 for RSA, SEC1 for EC: what kubeadm (keyutil.MarshalPrivateKeyToPEM) and cfssl write.</summary>
    public static string ExportPrivatePem(AsymmetricAlgorithm key) => key switch
    {
        RSA rsa => rsa.ExportRSAPrivateKeyPem(),
        ECDsa ec => ec.ExportECPrivateKeyPem(),
        _ => throw new NotSupportedException(key.GetType().Name),
    } + "\n";

    public static string ExportPublicPem(AsymmetricAlgorithm key) => key.ExportSubjectPublicKeyInfoPem() + "\n";

    /// <summary>Reads a private key; a file that is not one (truncated, garbage) is the user's state problem, named.</summary>
    public static AsymmetricAlgorithm ImportPrivatePem(string pem, string path)
    {
        var label = pem.Contains("-----BEGIN RSA PRIVATE KEY-----", StringComparison.Ordinal) ? "rsa"
            : pem.Contains("-----BEGIN EC PRIVATE KEY-----", StringComparison.Ordinal) ? "ec"
            : pem.Contains("-----BEGIN PRIVATE KEY-----", StringComparison.Ordinal) ? "pkcs8"
            : null;
        if (label is null)
            throw BadState(path, "is not a PEM private key (truncated or overwritten?)");
        try
        {
            if (label == "rsa")
                return ImportInto(RSA.Create(), pem);
            if (label == "ec")
                return ImportInto(ECDsa.Create(), pem);
            try
            {
                return ImportInto(RSA.Create(), pem);
            }
            catch (CryptographicException)
            {
                return ImportInto(ECDsa.Create(), pem);
            }
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw BadState(path, $"is not a readable private key ({e.Message.TrimEnd('.')}); it may be truncated");
        }
    }

    public static AsymmetricAlgorithm ImportPublicPem(string pem, string path)
    {
        try
        {
            if (!PemEncoding.TryFind(pem, out var fields))
                throw new ArgumentException("no PEM block");
            var der = Convert.FromBase64String(pem[fields.Base64Data]);
            try
            {
                var rsa = RSA.Create();
                rsa.ImportSubjectPublicKeyInfo(der, out _);
                return rsa;
            }
            catch (CryptographicException)
            {
                var ec = ECDsa.Create();
                ec.ImportSubjectPublicKeyInfo(der, out _);
                return ec;
            }
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or FormatException)
        {
            throw BadState(path, $"is not a readable public key ({e.Message.TrimEnd('.')}); it may be truncated");
        }
    }

    public static X509Certificate2 ImportCertificatePem(string pem, string path)
    {
        try
        {
            if (!PemEncoding.TryFind(pem, out var fields) || pem[fields.Label] != "CERTIFICATE")
                throw new ArgumentException("no CERTIFICATE PEM block");
            return X509CertificateLoader.LoadCertificate(Convert.FromBase64String(pem[fields.Base64Data]));
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or FormatException)
        {
            throw BadState(path, $"is not a readable certificate ({e.Message.TrimEnd('.')}); it may be truncated");
        }
    }

    public static byte[] PublicKeyInfo(AsymmetricAlgorithm key) => key.ExportSubjectPublicKeyInfo();

    public static byte[] PublicKeyInfo(X509Certificate2 certificate) => certificate.PublicKey.ExportSubjectPublicKeyInfo();

    public static string AlgorithmName(AsymmetricAlgorithm key) => key switch
    {
        RSA rsa => $"rsa-{rsa.KeySize}",
        ECDsa ec when ec.KeySize == 256 => "ecdsa-p256",
        ECDsa ec => $"ecdsa-{ec.KeySize}",
        _ => key.GetType().Name,
    };

    public static string AlgorithmName(X509Certificate2 certificate)
    {
        using var rsa = certificate.GetRSAPublicKey();
        if (rsa is not null)
            return $"rsa-{rsa.KeySize}";
        using var ec = certificate.GetECDsaPublicKey();
        return ec is null ? certificate.PublicKey.Oid.FriendlyName ?? "unknown" : ec.KeySize == 256 ? "ecdsa-p256" : $"ecdsa-{ec.KeySize}";
    }

    public static CertificateRequest Request(X500DistinguishedName subject, AsymmetricAlgorithm key) => key switch
    {
        RSA rsa => new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        ECDsa ec => new CertificateRequest(subject, ec, HashAlgorithmName.SHA256),
        _ => throw new NotSupportedException(key.GetType().Name),
    };

    public static X509SignatureGenerator Signer(AsymmetricAlgorithm key) => key switch
    {
        RSA rsa => X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1),
        ECDsa ec => X509SignatureGenerator.CreateForECDsa(ec),
        _ => throw new NotSupportedException(key.GetType().Name),
    };

    /// <summary>
    /// 16 random bytes, positive (top bit cleared: Go ≥1.23 rejects negative serials, GODEBUG x509negativeserial),
    /// and with the next bit set so it is never zero and its DER encoding is minimal.
    /// </summary>
    public static byte[] NewSerial()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x40);
        return serial;
    }

    public static UserInputException BadState(string path, string problem) =>
        new($"{path}: {problem}. Restore it from a backup of the state folder, or delete it together with its " +
            "certificate/key partner so the next build issues a new pair (a CA cannot be replaced while certificates it signed exist).");

    private static T ImportInto<T>(T key, string pem) where T : AsymmetricAlgorithm
    {
        try
        {
            key.ImportFromPem(pem);
            return key;
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }
}
