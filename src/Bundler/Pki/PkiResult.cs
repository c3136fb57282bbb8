using Bundler.Configuration;
using Bundler.Layout;

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
/// What the pki step hands to render and package. Contract between the steps; the pki step fills it from
/// state/&lt;site&gt;/.
/// </summary>
public interface IPkiResult
{
    /// <summary>The cluster CA certificate (PEM): every kubeconfig's <c>certificate-authority-data</c>.</summary>
    string CaCertificatePem { get; }

    /// <summary>Files under /etc/kubernetes/pki this node may hold (least privilege, from the certificate table).</summary>
    IReadOnlyList<NodeFile> PkiFilesFor(NodeSpec node);

    /// <summary>
    /// A client identity for a kubeconfig. Identities: "admin", "super-admin", "controller-manager",
    /// "scheduler", "kube-proxy", "kubelet" (per node: pass the node). Throws for an identity the node may not hold.
    /// </summary>
    Credential ClientCredential(string identity, NodeSpec? node = null);

    /// <summary>The 32-byte encryption-at-rest key, base64, for encryption-config.yaml (masters only).</summary>
    string EncryptionKeyBase64 { get; }

    /// <summary>PEM of the bundle signing key pair (ECDSA P-256) kept in state; never shipped.</summary>
    string SigningKeyPem { get; }

    /// <summary>
    /// The public half of <see cref="SigningKeyPem"/> (SubjectPublicKeyInfo PEM), for verifiers. Default body so
    /// existing implementations (test fakes) keep compiling.
    /// </summary>
    string SigningPublicKeyPem
    {
        get
        {
            using var key = System.Security.Cryptography.ECDsa.Create();
            key.ImportFromPem(SigningKeyPem);
            return key.ExportSubjectPublicKeyInfoPem() + "\n";
        }
    }

    /// <summary>Certificates a node carries (files and kubeconfig-embedded), for the manifest and inspect.</summary>
    IReadOnlyList<CertificateInfo> CertificatesFor(NodeSpec node);
}
