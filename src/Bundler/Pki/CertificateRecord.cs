using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Serialization;

namespace Bundler.Pki;

/// <summary>
/// What the manifest (SPEC §2), <c>kbundle inspect</c> and <c>kbundle certs</c> show of one certificate, with its path on
/// the node. The JSON-ignored parts are for the certs listing only; the manifest's fields are the positional ones.
/// </summary>
public sealed record CertificateRecord(
    string Path, string Subject, string Issuer, IReadOnlyList<string> Sans, DateTimeOffset NotBefore, DateTimeOffset NotAfter,
    string KeyAlgorithm, string SerialNumber)
{
    /// <summary>The certificate's id in the table and in state (<c>ca</c>, <c>nodes/k8s-01/apiserver</c>), when known.</summary>
    [JsonIgnore] public string Id { get; init; } = "";
    [JsonIgnore] public string CommonName { get; init; } = "";
    [JsonIgnore] public IReadOnlyList<string> Organizations { get; init; } = [];
    [JsonIgnore] public string IssuerCommonName { get; init; } = "";

    /// <summary>Reads a certificate as it sits at <paramref name="path"/> on a node.</summary>
    public static CertificateRecord Of(string path, X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return new CertificateRecord(path, certificate.Subject, certificate.Issuer, Fingerprints.Sans(certificate),
            new DateTimeOffset(certificate.NotBefore.ToUniversalTime()), new DateTimeOffset(certificate.NotAfter.ToUniversalTime()),
            Keys.AlgorithmName(certificate), certificate.SerialNumber)
        {
            CommonName = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false),
            Organizations = certificate.SubjectName.EnumerateRelativeDistinguishedNames()
                .Where(r => r.GetSingleElementType().Value == "2.5.4.10").Select(r => r.GetSingleElementValue() ?? "").ToList(),
            IssuerCommonName = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: true),
        };
    }
}
