using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Bundler.Configuration;
using Bundler.Layout;
using Bundler.Pki;

namespace Bundler.Tests.Render;

/// <summary>
/// A small IPkiResult for the render tests that issues REAL certificates (ECDSA P-256, .NET CertificateRequest) with
/// the subjects of pki-spec §1b. Stand-in until the pki step is merged; the lead swaps it for the real PkiStep.
/// </summary>
internal sealed class TestPki : IPkiResult
{
    private readonly X509Certificate2 _ca;
    private readonly X509Certificate2 _etcdCa;
    private readonly X509Certificate2 _frontProxyCa;
    private readonly Dictionary<string, Credential> _clients = [];

    public TestPki(string siteName = "example")
    {
        _ca = Ca($"kubernetes-ca {siteName}");
        _etcdCa = Ca($"etcd-ca {siteName}");
        _frontProxyCa = Ca($"front-proxy-ca {siteName}");
        EncryptionKeyBase64 = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        using var signing = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        SigningKeyPem = signing.ExportECPrivateKeyPem();
    }

    public string CaCertificatePem => _ca.ExportCertificatePem();
    public string EncryptionKeyBase64 { get; }
    public string SigningKeyPem { get; }

    /// <summary>CN and O (groups) of each kubeconfig identity (pki-spec §1b rows 8-14).</summary>
    public static (string Cn, string[] Groups) SubjectOf(string identity, NodeSpec? node) => identity switch
    {
        "admin" => ("kubernetes-admin", ["kubeadm:cluster-admins"]),
        "super-admin" => ("kubernetes-super-admin", ["system:masters"]),
        "controller-manager" => ("system:kube-controller-manager", []),
        "scheduler" => ("system:kube-scheduler", []),
        "kube-proxy" => ("system:kube-proxy", []),
        "kubelet" => ($"system:node:{node?.Name ?? throw new ArgumentNullException(nameof(node))}", ["system:nodes"]),
        _ => throw new ArgumentOutOfRangeException(nameof(identity), identity, "unknown identity"),
    };

    public Credential ClientCredential(string identity, NodeSpec? node = null)
    {
        var key = identity + "/" + node?.Name;
        if (_clients.TryGetValue(key, out var found))
            return found;
        var (cn, groups) = SubjectOf(identity, node);
        var (cert, pem) = Leaf(_ca, cn, groups, serverAuth: false, sans: null);
        return _clients[key] = new Credential(cert.ExportCertificatePem(), pem);
    }

    public IReadOnlyList<NodeFile> PkiFilesFor(NodeSpec node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var files = new List<NodeFile>();
        void Pair(string name, X509Certificate2 issuer, string cn, bool server, NodeSpec? sansOf = null)
        {
            var (cert, pem) = Leaf(issuer, cn, [], server, sansOf);
            files.Add(NodeFile.Text(NodePaths.Pki(name + ".crt"), cert.ExportCertificatePem(), FileKind.Certificate));
            files.Add(NodeFile.Text(NodePaths.Pki(name + ".key"), pem, FileKind.PrivateKey));
        }
        if (node.Is(Roles.Master) || node.Is(Roles.Worker))
            files.Add(NodeFile.Text(NodePaths.Pki("ca.crt"), _ca.ExportCertificatePem(), FileKind.Certificate));
        if (node.Is(Roles.Master) || node.Is(Roles.Etcd))
            files.Add(NodeFile.Text(NodePaths.Pki("etcd/ca.crt"), _etcdCa.ExportCertificatePem(), FileKind.Certificate));
        if (node.Is(Roles.Master))
        {
            Pair("apiserver", _ca, "kube-apiserver", server: true, node);
            Pair("apiserver-kubelet-client", _ca, "kube-apiserver-kubelet-client", server: false);
            Pair("apiserver-etcd-client", _etcdCa, "kube-apiserver-etcd-client", server: false);
            Pair("front-proxy-client", _frontProxyCa, "front-proxy-client", server: false);
            files.Add(NodeFile.Text(NodePaths.Pki("front-proxy-ca.crt"), _frontProxyCa.ExportCertificatePem(), FileKind.Certificate));
            using var sa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            files.Add(NodeFile.Text(NodePaths.Pki("sa.key"), sa.ExportECPrivateKeyPem(), FileKind.PrivateKey));
            files.Add(NodeFile.Text(NodePaths.Pki("sa.pub"), sa.ExportSubjectPublicKeyInfoPem(), FileKind.Certificate));
        }
        if (node.Is(Roles.Etcd))
        {
            Pair("etcd/server", _etcdCa, node.Name, server: true, node);
            Pair("etcd/peer", _etcdCa, node.Name, server: true, node);
            Pair("etcd/healthcheck-client", _etcdCa, "kube-etcd-healthcheck-client", server: false);
        }
        if (node.Is(Roles.Worker))
            Pair("kubelet", _ca, $"system:node:{node.Name}", server: true, node);
        return files;
    }

    public IReadOnlyList<CertificateInfo> CertificatesFor(NodeSpec node) => [];

    private static X509Certificate2 Ca(string cn)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={cn}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-10), now.AddDays(3650));
    }

    private static (X509Certificate2 Cert, string KeyPem) Leaf(X509Certificate2 issuer, string cn, string[] groups, bool serverAuth, NodeSpec? sans)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var name = new X500DistinguishedNameBuilder();
        foreach (var group in groups)
            name.AddOrganizationName(group);
        name.AddCommonName(cn);
        var request = new CertificateRequest(name.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            serverAuth ? [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")] : new OidCollection { new Oid("1.3.6.1.5.5.7.3.2") }, false));
        if (sans is not null)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName(sans.Name);
            san.AddDnsName("localhost");
            san.AddIpAddress(sans.Ip);
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
        }
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        serial[0] |= 0x01;
        var now = DateTimeOffset.UtcNow;
        var cert = request.Create(issuer, now.AddMinutes(-5), now.AddDays(365), serial);
        return (cert, key.ExportECPrivateKeyPem());
    }
}
