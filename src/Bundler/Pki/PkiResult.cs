namespace Bundler.Pki;

/// <summary>A client identity's certificate and key, PEM, for a kubeconfig (<c>client-certificate-data</c>, <c>client-key-data</c>).</summary>
public sealed record Credential(string CertificatePem, string KeyPem);

/// <summary>The parts of a certificate an auditor and the manifest care about.</summary>
public sealed record CertificateInfo(
    string Path, string Subject, string Issuer, IReadOnlyList<string> Sans, DateTimeOffset NotBefore, DateTimeOffset NotAfter,
    string KeyAlgorithm, string SerialNumber)
{
    /// <summary>The certificate's id in the table and in state (<c>ca</c>, <c>nodes/k8s-01/apiserver</c>).</summary>
    public string Id { get; init; } = "";
    public string CommonName { get; init; } = "";
    public IReadOnlyList<string> Organizations { get; init; } = [];
    public string IssuerCommonName { get; init; } = "";
}

/// <summary>
/// What the pki step hands on, all kept in state/&lt;site&gt;/: the cluster PKI (render embeds it, package records it),
/// the bundle signing key (sign uses it) and the build's fixed time (package stamps every payload entry with it).
/// </summary>
public sealed record PkiResult(PkiMaterial Material, Signing.SigningKey SigningKey, long SourceDateEpoch);
