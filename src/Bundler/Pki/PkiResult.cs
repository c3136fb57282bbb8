namespace Bundler.Pki;

/// <summary>A client identity's certificate and key, PEM, for a kubeconfig (<c>client-certificate-data</c>, <c>client-key-data</c>).</summary>
public sealed record Credential(string CertificatePem, string KeyPem);

/// <summary>
/// What the pki step hands on, all kept in state/&lt;site&gt;/: the cluster PKI (render embeds it, package records it),
/// the bundle signing key (sign uses it) and the build's fixed time (package stamps every payload entry with it).
/// </summary>
public sealed record PkiResult(PkiMaterial Material, Signing.SigningKey SigningKey, long SourceDateEpoch);
