using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Bundler.Configuration;
using Bundler.Layout;
using Bundler.Pipeline;

namespace Bundler.Pki;

/// <summary>
/// The cluster PKI kept in state/&lt;site&gt;/ (dir 0700, keys 0600): generated once, reused by every later build.
/// A leaf is re-issued only when its spec changed, it expires within <see cref="RenewalWindowDays"/>, or on
/// <c>--renew</c>; a CA is never regenerated while anything it signed exists. Layout: docs/pki.md.
/// </summary>
public static class PkiStore
{
    public const int RenewalWindowDays = PkiSettings.RenewalWindowDays;
    public const int CaWarningDays = 90;
    public const string IndexFile = "index.json";
    public const string EncryptionKeyFile = "encryption.key";
    public static readonly TimeSpan Backdate = TimeSpan.FromMinutes(5);

    public const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    public const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    /// <summary>Loads state, issues what is missing, due or changed, writes it, and returns the material.</summary>
    public static PkiMaterial Ensure(SiteSpec site, string stateDir, bool renew, IBuildReporter reporter, DateTimeOffset? now = null)
    {
        ArgumentNullException.ThrowIfNull(site);
        ArgumentNullException.ThrowIfNull(reporter);
        var clock = Stopwatch.StartNew();
        var at = Truncate(now ?? DateTimeOffset.UtcNow);
        var dir = Path.GetFullPath(stateDir);
        EnsureSecretDirectory(dir);

        var entries = CertificateTable.Expand(site).Select(i => Load(dir, i)).ToList();
        var byId = entries.ToDictionary(e => e.Instance.Id);
        CheckAuthorities(dir, entries);
        Decide(site, entries, byId, renew, at, reporter);

        var work = entries.Where(e => e.Reason is not null).ToList();
        if (work.Count > 0)
        {
            // The slow part: key generation, spread over every core.
            // Progress items count bytes, so this one only marks start and end.
            using var progress = reporter.Begin($"pki: generating {work.Count} {Names.Of(site.Pki.KeyAlgorithm)} keys");
            var keys = Stopwatch.StartNew();
            Parallel.ForEach(work, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
                e => e.NewKey = Keys.Generate(site.Pki.KeyAlgorithm));
            progress.Complete($"{keys.Elapsed.TotalSeconds:0.00} s on {Environment.ProcessorCount} cores");
        }
        foreach (var e in work.Where(e => e.Instance.Spec.Kind != CertificateKind.Leaf))
            Issue(site, e, null, at);
        foreach (var e in work.Where(e => e.Instance.Spec.Kind == CertificateKind.Leaf))
            Issue(site, e, byId[e.Instance.Spec.Issuer!], at);
        foreach (var e in work)
            Write(dir, e);

        var encryptionKey = EnsureEncryptionKey(dir);
        AtomicFile.WriteIfChanged(Path.Combine(dir, IndexFile), IndexJson(site, entries), NodeFile.Public);

        var issued = work.Select(e => $"{e.Instance.Id} ({e.Reason})").ToList();
        if (issued.Count > 0)
            reporter.Info($"pki: issued {issued.Count} ({string.Join(", ", issued.Take(8))}{(issued.Count > 8 ? ", ..." : "")}), " +
                          $"kept {entries.Count - issued.Count}, {Names.Of(site.Pki.KeyAlgorithm)}, {clock.Elapsed.TotalSeconds:0.00} s on {Environment.ProcessorCount} cores");
        else
            reporter.Info($"pki: all {entries.Count} certificates and keys reused from {dir}");
        return new PkiMaterial(site, entries.Select(e => e.ToMaterial()).ToList(), encryptionKey, work.Select(e => e.Instance.Id).ToList());
    }

    /// <summary>Reads existing state without writing anything (<c>kbundle certs</c>); missing state is the user's error.</summary>
    public static PkiMaterial Open(SiteSpec site, string stateDir)
    {
        ArgumentNullException.ThrowIfNull(site);
        var dir = Path.GetFullPath(stateDir);
        if (!Directory.Exists(dir))
            throw new UserInputException($"{dir}: no PKI state for site '{site.Name}'; run `kbundle build {site.SourcePath} --until pki` first");
        var entries = CertificateTable.Expand(site).Select(i => Load(dir, i)).ToList();
        CheckAuthorities(dir, entries);
        if (entries.FirstOrDefault(e => e.Certificate is null && e.PublicPem is null) is { } missing)
            throw new UserInputException($"{Path.Combine(dir, missing.Instance.CertificateFile)}: not issued yet (the site changed since the last build?); " +
                                         $"run `kbundle build {site.SourcePath} --until pki`");
        var encryption = ReadText(dir, EncryptionKeyFile);
        return new PkiMaterial(site, entries.Select(e => e.ToMaterial()).ToList(), encryption.Trim(), []);
    }

    /// <summary>The spec as the certificate must show it: subject, SANs, EKUs, key algorithm. Equal fingerprints = nothing to re-issue.</summary>
    public static string Fingerprint(string subject, IEnumerable<string> sans, IEnumerable<string> ekuOids, string algorithm)
    {
        var text = $"v1\n{subject}\n{string.Join(",", sans.Order(StringComparer.Ordinal))}\n{string.Join(",", ekuOids.Order(StringComparer.Ordinal))}\n{algorithm}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    public static string SpecFingerprint(CertificateInstance instance, KeyAlgorithm algorithm) =>
        Fingerprint(Subject(instance).Name, instance.Sans, EkuOids(instance.Spec.Usages), Names.Of(algorithm));

    public static string CertificateFingerprint(X509Certificate2 certificate) =>
        Fingerprint(certificate.SubjectName.Name, Sans(certificate), Ekus(certificate), Keys.AlgorithmName(certificate));

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

    // ---- loading -------------------------------------------------------------------------------------------

    private sealed class Entry(CertificateInstance instance)
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

    private static Entry Load(string dir, CertificateInstance instance)
    {
        var entry = new Entry(instance);
        var certPath = Path.Combine(dir, instance.CertificateFile);
        var keyPath = Path.Combine(dir, instance.KeyFile);
        var hasCert = File.Exists(certPath);
        var hasKey = File.Exists(keyPath);
        if (!hasCert && !hasKey)
            return entry;
        if (!hasCert || !hasKey)
        {
            var (missing, present) = hasCert ? (keyPath, certPath) : (certPath, keyPath);
            throw new UserInputException($"{missing}: missing while {present} exists. Restore it from a backup of the state folder, " +
                                         "or delete both so the next build issues a new pair");
        }
        var keyPem = File.ReadAllText(keyPath);
        var key = Keys.ImportPrivatePem(keyPem, keyPath);
        var certText = File.ReadAllText(certPath);
        byte[] publicKey;
        if (instance.Spec.Kind == CertificateKind.KeyPair)
        {
            using var pub = Keys.ImportPublicPem(certText, certPath);
            publicKey = Keys.PublicKeyInfo(pub);
            entry.PublicPem = certText;
        }
        else
        {
            var certificate = Keys.ImportCertificatePem(certText, certPath);
            publicKey = Keys.PublicKeyInfo(certificate);
            entry.Certificate = certificate;
            entry.CertificatePem = certText;
        }
        if (!publicKey.AsSpan().SequenceEqual(Keys.PublicKeyInfo(key)))
            throw Keys.BadState(certPath, $"does not match its private key {keyPath}");
        entry.Key = key;
        entry.KeyPem = keyPem;
        return entry;
    }

    /// <summary>A CA missing while leaves it signed exist, or a leaf another key signed, is bad state: never fixed silently.</summary>
    private static void CheckAuthorities(string dir, List<Entry> entries)
    {
        foreach (var ca in entries.Where(e => e.Instance.Spec.IsAuthority))
        {
            var signed = entries.Where(e => e.Instance.Spec.Issuer == ca.Instance.Spec.Name && e.Exists).ToList();
            if (!ca.Exists)
            {
                if (signed.Count > 0)
                    throw new UserInputException($"{Path.Combine(dir, ca.Instance.CertificateFile)}: CA missing, but certificates it signed exist " +
                                                 $"(e.g. {Path.Combine(dir, signed[0].Instance.CertificateFile)}). Restore the CA from a backup of " +
                                                 "the state folder; a new CA would silently invalidate every node's trust");
                continue;
            }
            var ski = ca.Certificate!.Extensions.OfType<X509SubjectKeyIdentifierExtension>().FirstOrDefault()?.SubjectKeyIdentifierBytes;
            foreach (var leaf in signed)
            {
                var raw = leaf.Certificate!.Extensions["2.5.29.35"];
                var aki = raw is null ? null : new X509AuthorityKeyIdentifierExtension(raw.RawData, raw.Critical).KeyIdentifier;
                var sameIssuer = leaf.Certificate.IssuerName.RawData.AsSpan().SequenceEqual(ca.Certificate.SubjectName.RawData);
                if (!sameIssuer || ski is null || aki is null || !aki.Value.Span.SequenceEqual(ski.Value.Span))
                    throw Keys.BadState(Path.Combine(dir, leaf.Instance.CertificateFile), $"was not issued by {Path.Combine(dir, ca.Instance.CertificateFile)}");
            }
        }
    }

    private static void Decide(SiteSpec site, List<Entry> entries, Dictionary<string, Entry> byId, bool renew, DateTimeOffset now, IBuildReporter reporter)
    {
        foreach (var e in entries)
        {
            if (!e.Exists)
            {
                e.Reason = "new";
                continue;
            }
            if (e.Instance.Spec.IsAuthority)
            {
                var notAfter = new DateTimeOffset(e.Certificate!.NotAfter.ToUniversalTime());
                if (notAfter <= now)
                    throw new UserInputException($"{e.Instance.CertificateFile}: CA '{e.Instance.CommonName}' expired on {notAfter:yyyy-MM-dd}; " +
                                                 "rotate it deliberately (kbundle never replaces a CA on its own)");
                if (notAfter - now < TimeSpan.FromDays(CaWarningDays))
                    reporter.Warning($"CA '{e.Instance.Id}' expires on {notAfter:yyyy-MM-dd} ({(notAfter - now).Days} days); plan its rotation");
                continue;
            }
            if (e.Instance.Spec.Kind == CertificateKind.KeyPair)
                continue;   // no expiry; rotated by hand
            var leafNotAfter = new DateTimeOffset(e.Certificate!.NotAfter.ToUniversalTime());
            var caNotAfter = new DateTimeOffset(byId[e.Instance.Spec.Issuer!].Certificate!.NotAfter.ToUniversalTime());
            if (renew)
                e.Reason = "renew";
            else if (CertificateFingerprint(e.Certificate) != SpecFingerprint(e.Instance, site.Pki.KeyAlgorithm))
                e.Reason = "spec changed";
            // Only when a new leaf would outlive the old one: a leaf capped by its CA's end stays put.
            else if (leafNotAfter - now < TimeSpan.FromDays(RenewalWindowDays) && caNotAfter > leafNotAfter)
                e.Reason = $"expires {leafNotAfter:yyyy-MM-dd}";
        }
    }

    // ---- issuing -------------------------------------------------------------------------------------------

    private static void Issue(SiteSpec site, Entry e, Entry? issuer, DateTimeOffset now)
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

    // ---- writing -------------------------------------------------------------------------------------------

    private static void Write(string dir, Entry e)
    {
        var keyPath = Path.Combine(dir, e.Instance.KeyFile);
        // One level at a time: CreateDirectory's mode would not cover the parents it creates (nodes/, nodes/<n>/).
        var folder = dir;
        foreach (var part in (Path.GetDirectoryName(e.Instance.KeyFile) ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries))
            EnsureSecretDirectory(folder = Path.Combine(folder, part));
        AtomicFile.WriteAllText(keyPath, e.KeyPem!, NodeFile.Secret);
        AtomicFile.WriteAllText(Path.Combine(dir, e.Instance.CertificateFile), e.CertificatePem ?? e.PublicPem!, NodeFile.Public);
    }

    private static string EnsureEncryptionKey(string dir)
    {
        var path = Path.Combine(dir, EncryptionKeyFile);
        if (File.Exists(path))
        {
            var existing = File.ReadAllText(path).Trim();
            return IsBase64Of32(existing) ? existing : throw Keys.BadState(path, "is not 32 bytes of base64 (the encryption-at-rest key)");
        }
        // 32 random bytes: aescbc/secretbox key size (kubernetes docs tasks/administer-cluster/encrypt-data).
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        AtomicFile.WriteAllText(path, key + "\n", NodeFile.Secret);
        return key;
    }

    private static bool IsBase64Of32(string text)
    {
        Span<byte> buffer = stackalloc byte[48];
        return Convert.TryFromBase64String(text, buffer, out var written) && written == 32;
    }

    private static string IndexJson(SiteSpec site, List<Entry> entries)
    {
        var index = new
        {
            version = 1,
            site = site.Name,
            keyAlgorithm = Names.Of(site.Pki.KeyAlgorithm),
            certificates = entries.Where(e => e.Certificate is not null).OrderBy(e => e.Instance.Id, StringComparer.Ordinal).Select(e => new
            {
                id = e.Instance.Id,
                issuer = e.Instance.Spec.Issuer,
                fingerprint = CertificateFingerprint(e.Certificate!),
                serial = e.Certificate!.SerialNumber,
                notAfter = e.Certificate.NotAfter.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            }),
        };
        return JsonSerializer.Serialize(index, new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    private static string ReadText(string dir, string name)
    {
        var path = Path.Combine(dir, name);
        return File.Exists(path) ? File.ReadAllText(path) : throw new UserInputException($"{path}: missing; run `kbundle build SITE --until pki` first");
    }

    private static void EnsureSecretDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }
        if (!Directory.Exists(path))
        {
            Directory.CreateDirectory(path, NodeFile.SecretDir);
            return;
        }
        if (File.GetUnixFileMode(path) != NodeFile.SecretDir)
            File.SetUnixFileMode(path, NodeFile.SecretDir);
    }

    private static DateTimeOffset Truncate(DateTimeOffset t) => new(t.Ticks - t.Ticks % TimeSpan.TicksPerSecond, t.Offset);
}
