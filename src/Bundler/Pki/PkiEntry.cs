using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Bundler.Pki;

/// <summary>One certificate table instance while the store works on it: what state holds, and what is decided and issued.</summary>
internal sealed class PkiEntry(CertificateInstance instance)
{
    public CertificateInstance Instance { get; } = instance;
    public X509Certificate2? Certificate { get; set; }
    public string? CertificatePem { get; set; }
    public string? PublicPem { get; set; }
    public AsymmetricAlgorithm? Key { get; set; }
    public string? KeyPem { get; set; }
    public string? Reason { get; set; }
    public AsymmetricAlgorithm? NewKey { get; set; }

    public bool Exists => Key is not null;

    public PkiMaterial.Item ToMaterial() => new(Instance, Certificate, CertificatePem, PublicPem, KeyPem!);
}
