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
/// The cluster PKI kept in state/&lt;site&gt;/ (dir 0700, keys 0600): loaded, checked, completed and written back.
/// Generated once, reused by every later build; what is re-issued and when is <see cref="RenewalPolicy"/>'s call, how
/// is <see cref="CertificateIssuer"/>'s. A CA is never regenerated while anything it signed exists. Layout: docs/pki.md.
/// </summary>
public static class PkiStore
{
    public const string IndexFile = "index.json";
    public const string EncryptionKeyFile = "encryption.key";

    /// <summary>Per-node certificates and keys, <c>nodes/&lt;node&gt;/</c>.</summary>
    public const string NodesDir = "nodes";

    /// <summary>Where the certificates and keys of nodes the site no longer has go (SPEC §8): <c>retired/&lt;UTC time&gt;/nodes/...</c>.</summary>
    public const string RetiredDir = "retired";

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
        Retire(dir, entries, at, reporter);
        RenewalPolicy.Decide(site, entries, byId, renew, at, reporter);

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
            CertificateIssuer.Issue(site, e, null, at);
        foreach (var e in work.Where(e => e.Instance.Spec.Kind == CertificateKind.Leaf))
            CertificateIssuer.Issue(site, e, byId[e.Instance.Spec.Issuer!], at);
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

    // ---- loading -------------------------------------------------------------------------------------------

    private static PkiEntry Load(string dir, CertificateInstance instance)
    {
        var entry = new PkiEntry(instance);
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
    private static void CheckAuthorities(string dir, List<PkiEntry> entries)
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

    // ---- retiring ------------------------------------------------------------------------------------------

    /// <summary>
    /// Moves every per-node certificate and key no instance of the site's table uses any more (a node removed from the
    /// site, or a role it no longer has) out of <c>nodes/</c> into <c>retired/&lt;UTC time&gt;/nodes/...</c>: kept, never
    /// shipped again, and a node added back under the same name gets new ones.
    /// </summary>
    private static void Retire(string dir, List<PkiEntry> entries, DateTimeOffset at, IBuildReporter reporter)
    {
        var nodes = Path.Combine(dir, NodesDir);
        if (!Directory.Exists(nodes))
            return;
        var used = entries.SelectMany(e => new[] { e.Instance.CertificateFile, e.Instance.KeyFile }).ToHashSet(StringComparer.Ordinal);
        var stale = Directory.EnumerateFiles(nodes, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(dir, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(f => !used.Contains(f) && !Path.GetFileName(f).StartsWith('.'))
            .Order(StringComparer.Ordinal).ToList();
        if (stale.Count == 0)
            return;
        var stamp = at.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var target = Path.Combine(dir, RetiredDir, stamp);
        foreach (var file in stale)
        {
            var to = Path.Combine(target, file);
            var folder = dir;
            foreach (var part in Path.GetRelativePath(dir, Path.GetDirectoryName(to)!).Split(Path.DirectorySeparatorChar))
                EnsureSecretDirectory(folder = Path.Combine(folder, part));
            File.Move(Path.Combine(dir, file), to, overwrite: false);
        }
        foreach (var folder in Directory.EnumerateDirectories(nodes, "*", SearchOption.AllDirectories).OrderByDescending(d => d.Length).Append(nodes))
            if (!Directory.EnumerateFileSystemEntries(folder).Any())
                Directory.Delete(folder);
        var owners = stale.Select(f => f.Split('/')[1]).Distinct(StringComparer.Ordinal);
        reporter.Info($"pki: retired {stale.Count} certificate and key file(s) of {string.Join(", ", owners)} (no longer in the site) " +
                      $"to {Path.Combine(RetiredDir, stamp)}");
    }

    // ---- writing -------------------------------------------------------------------------------------------

    private static void Write(string dir, PkiEntry e)
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

    private static string IndexJson(SiteSpec site, List<PkiEntry> entries)
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
                fingerprint = Fingerprints.OfCertificate(e.Certificate!),
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
