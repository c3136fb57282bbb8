using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Bundler.Configuration;

namespace Bundler.Pki;

/// <summary>What a certificate shows and what its table row asks for, in one comparable form; and the fields behind it.</summary>
public static class Fingerprints
{
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
