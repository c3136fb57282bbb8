using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Bundler.Configuration;

namespace Bundler.Pki;

/// <summary>What a certificate shows and what its table row asks for, in one comparable form; and the fields behind it.</summary>
public static class Fingerprints
{
    /// <summary>
    /// SHA-256 of a PEM public key's DER SubjectPublicKeyInfo, lower-case hex: what
    /// <c>openssl pkey -pubin -in KEY -outform DER | sha256sum</c> prints. Null when the text holds no public key.
    /// </summary>
    public static string? OfPublicKeyPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var start = pem.IndexOf("-----BEGIN PUBLIC KEY-----", StringComparison.Ordinal);
        var end = pem.IndexOf("-----END PUBLIC KEY-----", StringComparison.Ordinal);
        if (start < 0 || end < start)
            return null;
        var base64 = pem[(start + "-----BEGIN PUBLIC KEY-----".Length)..end];
        var der = new byte[base64.Length];
        return Convert.TryFromBase64String(string.Concat(base64.Where(c => !char.IsWhiteSpace(c))), der, out var written)
            ? Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(der.AsSpan(0, written)))
            : null;
    }

    /// <summary>The spec as the certificate must show it: subject, SANs, EKUs, key algorithm. Equal fingerprints = nothing to re-issue.</summary>
    public static string Fingerprint(string subject, IEnumerable<string> sans, IEnumerable<string> ekuOids, string algorithm)
    {
        var text = $"v1\n{subject}\n{string.Join(",", sans.Order(StringComparer.Ordinal))}\n{string.Join(",", ekuOids.Order(StringComparer.Ordinal))}\n{algorithm}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    public static string OfSpec(CertificateInstance instance, KeyAlgorithm algorithm) =>
        Fingerprint(CertificateIssuer.Subject(instance).Name, instance.Sans, CertificateIssuer.EkuOids(instance.Spec.Usages), Names.Of(algorithm));

    public static string OfCertificate(X509Certificate2 certificate) =>
        Fingerprint(certificate.SubjectName.Name, Sans(certificate), Ekus(certificate), Keys.AlgorithmName(certificate));

    /// <summary>SANs of a certificate as "DNS:x" / "IP:y", in certificate order.</summary>
    public static IReadOnlyList<string> Sans(X509Certificate2 certificate)
    {
        var raw = certificate.Extensions["2.5.29.17"];
        if (raw is null)
            return [];
        var ext = new X509SubjectAlternativeNameExtension(raw.RawData, raw.Critical);
        return [.. ext.EnumerateDnsNames().Select(d => "DNS:" + d), .. ext.EnumerateIPAddresses().Select(ip => "IP:" + ip)];
    }

    public static IReadOnlyList<string> Ekus(X509Certificate2 certificate)
    {
        var raw = certificate.Extensions["2.5.29.37"];
        if (raw is null)
            return [];
        var ext = new X509EnhancedKeyUsageExtension(raw, raw.Critical);
        return ext.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value!).ToList();
    }
}
