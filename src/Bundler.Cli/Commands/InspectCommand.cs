using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Bundler.Inspection;
using Bundler.Layout;
using Bundler.Nginx;
using Bundler.Packaging;

namespace Bundler.Cli;

/// <summary>
/// <c>kbundle inspect FILE.run|ARTIFACTS_DIR</c>: what a bundle carries. A folder's report starts with the site and whether
/// its signature holds; each bundle lists its components (kube-nginx with the source it was built from), files,
/// certificates, secrets (private keys, kubeconfigs with embedded keys, the encryption config) and units.
/// </summary>
public static class InspectCommand
{
    public sealed record Options(string Target, bool Json);

    private static readonly Argument<string> TargetArgument = new("TARGET") { Description = "A <node>.run bundle or an artifacts folder" };
    private static readonly Option<bool> JsonOption = Cli.Shared.Json();

    public static Command Create(CliOutput output)
    {
        var command = new Command("inspect", "Show what a bundle carries: components, files, certificates, secrets, units") { TargetArgument, JsonOption };
        command.SetAction(parse => Run(Bind(parse), output));
        return command;
    }

    public static Options Bind(ParseResult parse) => new(parse.GetValue(TargetArgument)!, parse.GetValue(JsonOption));

    /// <summary>The files of a bundle that hold a secret, by kind.</summary>
    public sealed record SecretFiles(IReadOnlyList<string> PrivateKeys, IReadOnlyList<string> Kubeconfigs, IReadOnlyList<string> EncryptionConfig,
        IReadOnlyList<string> Other)
    {
        public int Count => PrivateKeys.Count + Kubeconfigs.Count + EncryptionConfig.Count + Other.Count;

        public static SecretFiles Of(BundleView view)
        {
            ArgumentNullException.ThrowIfNull(view);
            var keys = new List<string>();
            var kubeconfigs = new List<string>();
            var encryption = new List<string>();
            var other = new List<string>();
            foreach (var f in view.Files)
            {
                if (f.Path.EndsWith(".key", StringComparison.Ordinal))
                    keys.Add(f.Path);
                else if (f.Content is null)
                    continue;
                else if (f.Path == NodePaths.EncryptionConfig)
                    encryption.Add(f.Path);
                else if (Secrets.Redact(Encoding.UTF8.GetString(f.Content)).Found is { Count: > 0 } found)
                    (found.Any(s => s.What.StartsWith("client-key", StringComparison.OrdinalIgnoreCase)) ? kubeconfigs : other).Add(f.Path);
            }
            return new SecretFiles(keys, kubeconfigs, encryption, other);
        }
    }

    public static int Run(Options options, CliOutput output)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        var folder = Directory.Exists(options.Target);
        var views = BundleDiff.Load(options.Target);
        if (options.Json)
        {
            output.Out.WriteLine(JsonSerializer.Serialize(views.Select(v =>
            {
                var secrets = SecretFiles.Of(v);
                return new
                {
                    file = Path.GetFileName(v.File),
                    site = v.Site,
                    node = v.Node,
                    ip = v.Header.GetValueOrDefault(HeaderKeys.Ip),
                    roles = v.Header.GetValueOrDefault(HeaderKeys.Roles),
                    arch = v.Header.GetValueOrDefault(HeaderKeys.Arch),
                    kubernetes = v.Header.GetValueOrDefault(HeaderKeys.Kubernetes),
                    toolVersion = v.Header.GetValueOrDefault(HeaderKeys.ToolVersion),
                    buildSerial = v.Header.GetValueOrDefault(HeaderKeys.BuildSerial),
                    payloadSha256 = v.Header.GetValueOrDefault(HeaderKeys.PayloadSha256),
                    components = v.Record?.Components ?? [],
                    files = v.Files.Select(f => new { path = f.Path, mode = f.Mode, size = f.Size, sha256 = f.Sha256 }),
                    certificates = v.Certificates,
                    privateKeys = v.Record?.PrivateKeys ?? [],
                    secrets = new { privateKeys = secrets.PrivateKeys, kubeconfigs = secrets.Kubeconfigs, encryptionConfig = secrets.EncryptionConfig, other = secrets.Other },
                    units = v.Header.GetValueOrDefault(HeaderKeys.Units, "").Split(' ', StringSplitOptions.RemoveEmptyEntries),
                    images = v.Record?.Images ?? [],
                };
            }), BundleManifest.Json));
            return ExitCodes.Success;
        }
        var o = output.Out;
        if (folder)
            WriteFolderHeading(options.Target, views, o);
        foreach (var v in views)
        {
            o.WriteLine($"{Path.GetFileName(v.File)}: site {v.Site}, node {v.Node} ({v.Header.GetValueOrDefault(HeaderKeys.Ip)}), roles {v.Header.GetValueOrDefault(HeaderKeys.Roles)}, " +
                        $"{v.Header.GetValueOrDefault(HeaderKeys.Arch)}, Kubernetes {v.Header.GetValueOrDefault(HeaderKeys.Kubernetes)}, kbundle {v.Header.GetValueOrDefault(HeaderKeys.ToolVersion)}, " +
                        $"build serial {v.Header.GetValueOrDefault(HeaderKeys.BuildSerial, "0")}");
            o.WriteLine($"  payload sha256 {v.Header.GetValueOrDefault(HeaderKeys.PayloadSha256)}");
            o.WriteLine("  components:");
            foreach (var c in v.Record?.Components ?? [])
            {
                if (c.Name == NginxStep.SourceArtifact && v.Files.FirstOrDefault(f => f.Path == NodePaths.Bin(NginxBuilder.BinaryName)) is { } binary)
                    o.WriteLine($"    {NginxBuilder.BinaryName} {c.Version} {v.Header.GetValueOrDefault(HeaderKeys.Arch)}: built from {c.Name} {c.Version} source " +
                                $"{c.Algorithm}:{c.Checksum} {c.Url}; binary sha256 {binary.Sha256}");
                else
                    o.WriteLine($"    {c.Name} {c.Version} {c.Arch} {c.Algorithm}:{c.Checksum} {c.Url}");
            }
            o.WriteLine($"  files ({v.Files.Count}):");
            foreach (var f in v.Files)
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    {f.Mode} {f.Size,10} {f.Sha256} {f.Path}"));
            o.WriteLine($"  certificates ({v.Certificates.Count}):");
            foreach (var c in v.Certificates)
                o.WriteLine($"    {c.Path}: subject {c.Subject}; issuer {c.Issuer}; SANs {string.Join(",", c.Sans)}; " +
                            $"expires {c.NotAfter.UtcDateTime:yyyy-MM-dd}; {c.KeyAlgorithm}");
            var secrets = SecretFiles.Of(v);
            o.WriteLine($"  secrets ({secrets.Count}): {secrets.PrivateKeys.Count} private keys, {secrets.Kubeconfigs.Count} kubeconfigs with embedded keys, " +
                        $"{(secrets.EncryptionConfig.Count > 0 ? "the encryption config" : "no encryption config")}" +
                        (secrets.Other.Count > 0 ? $", {secrets.Other.Count} other files holding secrets" : ""));
            o.WriteLine($"    private keys ({secrets.PrivateKeys.Count}): {string.Join(" ", secrets.PrivateKeys)}");
            o.WriteLine($"    kubeconfigs with embedded keys ({secrets.Kubeconfigs.Count}): {string.Join(" ", secrets.Kubeconfigs)}");
            if (secrets.EncryptionConfig.Count > 0)
                o.WriteLine($"    encryption config: {string.Join(" ", secrets.EncryptionConfig)}");
            if (secrets.Other.Count > 0)
                o.WriteLine($"    other files holding secrets ({secrets.Other.Count}): {string.Join(" ", secrets.Other)}");
            o.WriteLine($"  units in start order: {v.Header.GetValueOrDefault(HeaderKeys.Units)}");
            WriteImages(o, v);
        }
        if (Directory.Exists(options.Target) && BundleLayout.AuditFiles.Where(f => File.Exists(Path.Combine(options.Target, f))).ToList() is { Count: > 0 } audit)
            output.Out.WriteLine($"for auditors (signed with the bundles): {string.Join(", ", audit)}; kbundle report {options.Target} re-creates the report");
        return ExitCodes.Success;
    }

    /// <summary>The images the node's images-&lt;arch&gt;.tar holds: ref, pinned index digest, this arch's manifest digest, bytes.</summary>
    private static void WriteImages(TextWriter o, BundleView v)
    {
        var images = v.Record?.Images ?? [];
        if (images.Count == 0)
            return;
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  images ({images.Count}, {images.Sum(i => i.Size)} bytes):"));
        foreach (var image in images)
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"    {image.Name} {image.Ref} index {image.Digest} {image.Arch} manifest {image.ManifestDigest} {image.Size} bytes"));
    }

    /// <summary>A folder's report starts with what it is (site, bundles, build) and whether its signature holds.</summary>
    private static void WriteFolderHeading(string folder, IReadOnlyList<BundleView> views, TextWriter o)
    {
        var first = views.FirstOrDefault();
        var site = string.Join(", ", views.Select(v => v.Site).Distinct());
        o.WriteLine($"site {(site.Length == 0 ? "?" : site)}: {views.Count} bundles ({string.Join(", ", views.Select(v => v.Node))}), " +
                    $"build serial {first?.Header.GetValueOrDefault(HeaderKeys.BuildSerial, "0") ?? "-"}, " +
                    $"Kubernetes {first?.Header.GetValueOrDefault(HeaderKeys.Kubernetes) ?? "-"}, kbundle {first?.Header.GetValueOrDefault(HeaderKeys.ToolVersion) ?? "-"}");
        var checks = Verifier.Verify(folder);
        var key = Verifier.Key(folder);
        var signature = checks.FirstOrDefault(c => c.Subject == BundleLayout.SignatureFile);
        var failed = checks.Where(c => !c.Ok).ToList();
        o.WriteLine(signature is { Ok: true } && failed.Count == 0
            ? $"signature: verified ({checks.Count} checks; signing key sha256:{key.Sha256}, the folder's own signing.pub: check it with kbundle verify --pubkey)"
            : $"signature: FAILED ({string.Join("; ", failed.Select(c => $"{c.Subject}: {c.Detail}"))}); kbundle verify {folder} says more");
    }
}
