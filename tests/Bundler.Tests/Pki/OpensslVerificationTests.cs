using System.Net;
using System.Net.Sockets;
using Bundler.Pki;
using Xunit;

namespace Bundler.Tests.Pki;

/// <summary>Every row of the table, as issued, checked by the real openssl: chain, SANs, key usages, EKUs, serial.</summary>
public sealed class OpensslVerificationTests
{
    [ToolTheory("openssl")]
    [InlineData("rsa-2048", "sha256WithRSAEncryption", "Digital Signature, Key Encipherment")]
    [InlineData("ecdsa-p256", "ecdsa-with-SHA256", "Digital Signature")]
    public void GivenAFreshSite_WhenThePkiIsIssued_ThenOpensslAcceptsEveryLeafAndShowsTheTablesExtensions(
        string algorithm, string signature, string leafKeyUsage)
    {
        using var fixture = new PkiFixture();
        var site = PkiFixture.Site(algorithm: algorithm);
        var pki = fixture.Ensure(site);

        var checkedRows = new HashSet<string>();
        foreach (var item in pki.Items.Where(i => i.Certificate is not null))
        {
            var instance = item.Instance;
            var certFile = Path.Combine(fixture.StateDir, instance.CertificateFile);
            var (code, text, err) = PkiFixture.Openssl("x509", "-in", certFile, "-noout", "-text", "-serial");
            Assert.True(code == 0, err);

            Assert.Contains($"Signature Algorithm: {signature}", text);
            var serial = text.Split('\n').Single(l => l.StartsWith("serial=", StringComparison.Ordinal))["serial=".Length..].Trim();
            Assert.True(Convert.ToInt32(serial[..1], 16) < 8, $"{instance.Id}: serial {serial} is negative");
            Assert.NotEqual("", serial.Trim('0'));
            Assert.Contains("X509v3 Subject Key Identifier", text);

            var expectedSans = instance.Sans.Select(OpensslSan).Order(StringComparer.Ordinal).ToList();
            var shownSans = After(text, "X509v3 Subject Alternative Name:")?.Split(", ").Order(StringComparer.Ordinal).ToList() ?? [];
            Assert.Equal(expectedSans, shownSans);

            if (instance.Spec.IsAuthority)
            {
                Assert.Contains("X509v3 Basic Constraints: critical", text);
                Assert.Equal("CA:TRUE", After(text, "X509v3 Basic Constraints: critical"));
                Assert.Equal(leafKeyUsage + ", Certificate Sign", After(text, "X509v3 Key Usage: critical"));
                Assert.Null(After(text, "X509v3 Extended Key Usage:"));
                Assert.Contains($"O = lab, OU = ", text);
                var (vcode, vout, verr) = PkiFixture.Openssl("verify", "-CAfile", certFile, certFile);
                Assert.True(vcode == 0, $"{instance.Id}: {vout} {verr}");
            }
            else
            {
                var caFile = Path.Combine(fixture.StateDir, CertificateTable.Row(instance.Spec.Issuer!).Name + ".crt");
                var (vcode, vout, verr) = PkiFixture.Openssl("verify", "-CAfile", caFile, certFile);
                Assert.True(vcode == 0, $"{instance.Id}: {vout} {verr}");
                Assert.Equal($"{certFile}: OK", vout.Trim());
                // openssl's purpose check reads KU and EKU the way TLS stacks do.
                foreach (var (usage, purpose) in new[] { (ExtendedUsage.ServerAuth, "sslserver"), (ExtendedUsage.ClientAuth, "sslclient") })
                {
                    if (!instance.Spec.Usages.HasFlag(usage))
                        continue;
                    var (pcode, pout, perr) = PkiFixture.Openssl("verify", "-purpose", purpose, "-CAfile", caFile, certFile);
                    Assert.True(pcode == 0, $"{instance.Id} as {purpose}: {pout} {perr}");
                }

                Assert.Equal("CA:FALSE", After(text, "X509v3 Basic Constraints: critical"));
                Assert.Equal(leafKeyUsage, After(text, "X509v3 Key Usage: critical"));
                Assert.Equal(OpensslEku(instance.Spec.Usages), After(text, "X509v3 Extended Key Usage:"));
                Assert.Contains("X509v3 Authority Key Identifier", text);
                var subject = string.Join(", ", instance.Organizations.Select(o => "O = " + o).Append("CN = " + instance.CommonName));
                Assert.Contains($"Subject: {subject}\n", text);
            }
            checkedRows.Add(instance.Spec.Name);
        }
        // Every certificate row of the table was issued and checked.
        Assert.Equal(CertificateTable.Rows.Where(r => r.Kind != CertificateKind.KeyPair).Select(r => r.Name).Order(), checkedRows.Order());
    }

    [ToolFact("openssl")]
    public void GivenTheApiserverRow_WhenIssuedForAMaster_ThenItsSansAreTheKubeadmSetPlusLoopbackAndExtraSans()
    {
        using var fixture = new PkiFixture();
        var pki = fixture.Ensure(PkiFixture.Site());
        var (_, text, _) = PkiFixture.Openssl("x509", "-in", Path.Combine(fixture.StateDir, "nodes/k8s-02/apiserver.crt"), "-noout", "-ext", "subjectAltName");
        foreach (var san in new[]
                 {
                     "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local",
                     "DNS:k8s-02", "DNS:lb.example.com", "IP Address:192.168.93.12", "IP Address:10.254.0.1", "IP Address:127.0.0.1",
                     "IP Address:192.168.93.100",
                 })
            Assert.Contains(san, text);
        Assert.DoesNotContain("192.168.93.11", text);
        Assert.Equal("kube-apiserver", pki.Get("nodes/k8s-02/apiserver").Instance.CommonName);
    }

    [ToolFact("openssl")]
    public void GivenAnEtcdMember_WhenIssued_ThenItsPeerCertificateCarriesItsOwnIpAndLoopbacks()
    {
        using var fixture = new PkiFixture();
        fixture.Ensure(PkiFixture.Site());
        var (_, text, _) = PkiFixture.Openssl("x509", "-in", Path.Combine(fixture.StateDir, "nodes/k8s-03/etcd/peer.crt"), "-noout", "-ext", "subjectAltName,extendedKeyUsage", "-subject");
        Assert.Contains("DNS:k8s-03, DNS:localhost, IP Address:192.168.93.13, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1", text);
        Assert.Contains("TLS Web Server Authentication, TLS Web Client Authentication", text);
        Assert.Contains("subject=CN = k8s-03", text);
    }

    /// <summary>The line after <paramref name="header"/> in openssl -text output, or null.</summary>
    private static string? After(string text, string header)
    {
        var lines = text.Split('\n');
        var i = Array.FindIndex(lines, l => l.Trim() == header);
        return i < 0 || i + 1 >= lines.Length ? null : lines[i + 1].Trim();
    }

    private static string OpensslSan(string canonical)
    {
        if (canonical.StartsWith("DNS:", StringComparison.Ordinal))
            return canonical;
        var ip = IPAddress.Parse(canonical[3..]);
        if (ip.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var bytes = ip.GetAddressBytes();
            return "IP Address:" + string.Join(":", Enumerable.Range(0, 8).Select(i => ((bytes[2 * i] << 8) | bytes[2 * i + 1]).ToString("X")));
        }
        return "IP Address:" + ip;
    }

    private static string OpensslEku(ExtendedUsage usages) =>
        string.Join(", ", new[]
        {
            usages.HasFlag(ExtendedUsage.ServerAuth) ? "TLS Web Server Authentication" : null,
            usages.HasFlag(ExtendedUsage.ClientAuth) ? "TLS Web Client Authentication" : null,
        }.Where(s => s is not null));
}
