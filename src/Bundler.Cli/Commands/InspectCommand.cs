using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Bundler.Inspection;
using Bundler.Layout;
using Bundler.Packaging;

namespace Bundler.Cli;

/// <summary><c>kbundle inspect FILE.run|ARTIFACTS_DIR</c>: what a bundle carries.</summary>
public static class InspectCommand
{
    public sealed record Options(string Target, bool Json);

    private static readonly Argument<string> TargetArgument = new("TARGET") { Description = "A <node>.run bundle or an artifacts folder" };
    private static readonly Option<bool> JsonOption = Cli.Shared.Json();

    public static Command Create(CliOutput output)
    {
        var command = new Command("inspect", "Show what a bundle carries: components, files, certificates, keys, units") { TargetArgument, JsonOption };
        command.SetAction(parse => Run(Bind(parse), output));
        return command;
    }

    public static Options Bind(ParseResult parse) => new(parse.GetValue(TargetArgument)!, parse.GetValue(JsonOption));

    public static int Run(Options options, CliOutput output)
    {
        var views = BundleDiff.Load(options.Target);
        if (options.Json)
        {
            output.Out.WriteLine(JsonSerializer.Serialize(views.Select(v => new
            {
                file = Path.GetFileName(v.File),
                site = v.Site,
                node = v.Node,
                ip = v.Header.GetValueOrDefault(HeaderKeys.Ip),
                roles = v.Header.GetValueOrDefault(HeaderKeys.Roles),
                arch = v.Header.GetValueOrDefault(HeaderKeys.Arch),
                kubernetes = v.Header.GetValueOrDefault(HeaderKeys.Kubernetes),
                toolVersion = v.Header.GetValueOrDefault(HeaderKeys.ToolVersion),
                payloadSha256 = v.Header.GetValueOrDefault(HeaderKeys.PayloadSha256),
                components = v.Record?.Components ?? [],
                files = v.Files.Select(f => new { path = f.Path, mode = f.Mode, size = f.Size, sha256 = f.Sha256 }),
                certificates = v.Certificates,
                privateKeys = v.Record?.PrivateKeys ?? [],
                units = v.Header.GetValueOrDefault(HeaderKeys.Units, "").Split(' ', StringSplitOptions.RemoveEmptyEntries),
                images = v.Record?.Images ?? [],
            }), BundleManifest.Json));
            return ExitCodes.Success;
        }
        foreach (var v in views)
        {
            var o = output.Out;
            o.WriteLine($"{Path.GetFileName(v.File)}: site {v.Site}, node {v.Node} ({v.Header.GetValueOrDefault(HeaderKeys.Ip)}), roles {v.Header.GetValueOrDefault(HeaderKeys.Roles)}, " +
                        $"{v.Header.GetValueOrDefault(HeaderKeys.Arch)}, Kubernetes {v.Header.GetValueOrDefault(HeaderKeys.Kubernetes)}, kbundle {v.Header.GetValueOrDefault(HeaderKeys.ToolVersion)}");
            o.WriteLine($"  payload sha256 {v.Header.GetValueOrDefault(HeaderKeys.PayloadSha256)}");
            o.WriteLine("  components:");
            foreach (var c in v.Record?.Components ?? [])
                o.WriteLine($"    {c.Name} {c.Version} {c.Arch} {c.Algorithm}:{c.Checksum} {c.Url}");
            o.WriteLine($"  files ({v.Files.Count}):");
            foreach (var f in v.Files)
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    {f.Mode} {f.Size,10} {f.Sha256} {f.Path}"));
            o.WriteLine($"  certificates ({v.Certificates.Count}):");
            foreach (var c in v.Certificates)
                o.WriteLine($"    {c.Path}: subject {c.Subject}; issuer {c.Issuer}; SANs {string.Join(",", c.Sans)}; " +
                            $"expires {c.NotAfter.UtcDateTime:yyyy-MM-dd}; {c.KeyAlgorithm}");
            var keys = v.Files.Where(f => f.Path.EndsWith(".key", StringComparison.Ordinal)).Select(f => f.Path).ToList();
            o.WriteLine($"  private keys ({keys.Count}): {string.Join(" ", keys)}");
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
}
