using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Bundler.Configuration;

namespace Bundler.Pki;

/// <summary>Issues one certificate table instance with .NET's own crypto: kubeadm's extensions, subjects and validity rules.</summary>
internal static class CertificateIssuer
{
    public static readonly TimeSpan Backdate = TimeSpan.FromMinutes(5);

    public const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    public const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    /// <summary>Generates nothing (<see cref="PkiEntry.NewKey"/> is made beforehand, in parallel): signs and fills the entry.</summary>
    public static void Issue(SiteSpec site, PkiEntry e, PkiEntry? issuer, DateTimeOffset now)
    {
        var key = e.NewKey!;
        var notBefore = now - Backdate;
        if (e.Instance.Spec.Kind == CertificateKind.KeyPair)
        {
            e.PublicPem = Keys.ExportPublicPem(key);
        }
        else if (e.Instance.Spec.IsAuthority)
        {
            // A fresh OU per generation: a regenerated CA never shares a DN with the one it replaces (pki-spec.md §6.7).
            var subject = Subject(e.Instance, generation: RandomNumberGenerator.GetHexString(16, lowercase: true));
            var request = Keys.Request(subject, key);
            var usage = X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.DigitalSignature | (key is RSA ? X509KeyUsageFlags.KeyEncipherment : 0);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            request.CertificateExtensions.Add(SanExtension(e.Instance.Sans));
            e.Certificate = request.Create(subject, Keys.Signer(key), notBefore, now.AddDays(site.Pki.CaValidityDays), Keys.NewSerial());
        }
        else
        {
            var ca = issuer!.Certificate!;
            var subject = Subject(e.Instance);
            var request = Keys.Request(subject, key);
            // kubeadm (pkiutil NewSignedCert): keyEncipherment only for RSA keys.
            var usage = X509KeyUsageFlags.DigitalSignature | (key is RSA ? X509KeyUsageFlags.KeyEncipherment : 0);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
            var oids = new OidCollection();
            foreach (var oid in EkuOids(e.Instance.Spec.Usages))
                oids.Add(new Oid(oid));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(oids, false));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            var caSki = ca.Extensions.OfType<X509SubjectKeyIdentifierExtension>().First();
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(caSki));
            if (e.Instance.Sans.Length > 0)
                request.CertificateExtensions.Add(SanExtension(e.Instance.Sans));
            // The leaf must lie inside its CA's validity; a CA near its end caps its leaves.
            var caNotAfter = new DateTimeOffset(ca.NotAfter.ToUniversalTime());
            var notAfter = now.AddDays(site.Pki.LeafValidityDays);
            if (notAfter > caNotAfter)
                notAfter = caNotAfter;
            var caNotBefore = new DateTimeOffset(ca.NotBefore.ToUniversalTime());
            if (notBefore < caNotBefore)
                notBefore = caNotBefore;
            e.Certificate = request.Create(ca.SubjectName, Keys.Signer(issuer.Key!), notBefore, notAfter, Keys.NewSerial());
        }
        if (e.Certificate is not null)
            e.CertificatePem = e.Certificate.ExportCertificatePem() + "\n";
        e.Key = key;
        e.KeyPem = Keys.ExportPrivatePem(key);
    }

    private static X509Extension SanExtension(IEnumerable<string> sans)
    {
        var builder = new SubjectAlternativeNameBuilder();
        foreach (var san in sans)
        {
            if (san.StartsWith("IP:", StringComparison.Ordinal))
                builder.AddIpAddress(System.Net.IPAddress.Parse(san[3..]));
            else
                builder.AddDnsName(san[4..]);
        }
        return builder.Build();
    }

    public static X500DistinguishedName Subject(CertificateInstance instance, string? generation = null)
    {
        // The builder encodes the last added RDN first; added CN first, the DER order is O.., OU, CN, which
        // openssl prints as "O = system:nodes, CN = system:node:k8s-04" (the kubeadm/cfssl order).
        var builder = new X500DistinguishedNameBuilder();
        builder.AddCommonName(instance.CommonName);
        if (generation is not null)
            builder.AddOrganizationalUnitName(generation);
        foreach (var o in instance.Organizations.Reverse())
            builder.AddOrganizationName(o);
        return builder.Build();
    }

    public static IReadOnlyList<string> EkuOids(ExtendedUsage usages) =>
        [.. usages.HasFlag(ExtendedUsage.ServerAuth) ? [ServerAuthOid] : Array.Empty<string>(),
         .. usages.HasFlag(ExtendedUsage.ClientAuth) ? [ClientAuthOid] : Array.Empty<string>()];
}
