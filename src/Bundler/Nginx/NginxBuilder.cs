using System.Security.Cryptography;
using System.Text;
using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Layout;
using Bundler.Pipeline;

namespace Bundler.Nginx;

/// <summary>
/// Builds kube-nginx from a verified source archive for every arch a site has: TCP proxy only
/// (<c>--with-stream --without-http</c>, as the seed tutorial does), linked statically so it runs on any target
/// distro. The build machine's own arch is compiled with its cc; any other is cross-compiled
/// (<see cref="NginxToolchain"/>). Each result is cached under a key made of the source checksum, the configure
/// arguments and everything about the toolchain: the same key never compiles twice.
/// </summary>
public sealed class NginxBuilder(string cacheRoot, IBuildReporter reporter, Func<string, string?>? findTool = null)
{
    private readonly Func<string, string?> _findTool = findTool ?? ProcessRunner.Find;

    public const string BinaryName = "kube-nginx";

    /// <summary>The configure arguments; part of the cache key and of the provenance in the manifest.</summary>
    public static readonly IReadOnlyList<string> ConfigureArguments =
    [
        "--prefix=/etc/kube-nginx",
        $"--conf-path={NodePaths.NginxConf}",
        "--with-stream",
        "--without-http",
        "--without-http_uwsgi_module",
        "--without-http_scgi_module",
        "--without-http_fastcgi_module",
        // Static: the bundle's nodes may run another distro (or glibc) than the build machine.
        "--with-ld-opt=-static",
    ];

    public sealed record Outcome(string Binary, NginxProvenance Provenance, bool CacheHit);

    public static Arch? MachineArch => NginxToolchain.MachineArch;

    /// <summary>One kube-nginx per arch, in arch order. Every toolchain is found before anything compiles.</summary>
    public async Task<IReadOnlyList<Outcome>> BuildAsync(FetchedSource source, IEnumerable<Arch> targetArches, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(targetArches);
        var toolchains = new List<NginxToolchain>();
        foreach (var arch in targetArches.Distinct().Order())
            toolchains.Add(await NginxToolchain.FindAsync(arch, MachineArch, _findTool, cancellationToken).ConfigureAwait(false));

        var outcomes = new List<Outcome>();
        foreach (var toolchain in toolchains)
            outcomes.Add(await BuildOneAsync(source, toolchain, cancellationToken).ConfigureAwait(false));
        return outcomes;
    }

    private async Task<Outcome> BuildOneAsync(FetchedSource source, NginxToolchain toolchain, CancellationToken cancellationToken)
    {
        var artifact = source.Artifact;
        var arch = Names.Of(toolchain.Arch);
        var key = CacheKey(artifact, toolchain);
        var dir = Path.Combine(cacheRoot, "nginx", key);
        var binary = Path.Combine(dir, BinaryName);

        if (File.Exists(binary))
        {
            reporter.Info($"kube-nginx {arch}: cache hit ({key[..12]}), no compile");
            return new Outcome(binary, Provenance(artifact, toolchain, binary), CacheHit: true);
        }

        var work = AtomicFile.TempName(Path.Combine(cacheRoot, "nginx", "work"));
        try
        {
            using var progress = reporter.Begin($"kube-nginx {artifact.Version} {arch}: configure and compile");
            var unpacked = Path.Combine(work, "src");
            SafeUnpacker.Extract(source.ArchivePath, artifact.FileName, unpacked, members: null);
            var tree = Directory.GetDirectories(unpacked) is [var single] && !File.Exists(Path.Combine(unpacked, "configure")) ? single : unpacked;
            var configure = Path.Combine(tree, "configure");
            if (!File.Exists(configure))
                throw new UserInputException(
                    $"{artifact.FileName} (lock artifact '{artifact.Name}', {source.ArchivePath}): no configure script at its top or in its one top folder; " +
                    "kube-nginx is built from an nginx source release (nginx-<version>.tar.gz from https://nginx.org/download/)");
            var env = toolchain.PrepareEnvironment(Path.Combine(work, "shims"));

            await Run(configure, ConfigureArguments, tree, env, "configure", toolchain, cancellationToken).ConfigureAwait(false);
            await Run(toolchain.Make, [$"-j{Environment.ProcessorCount}"], tree, env, "make", toolchain, cancellationToken).ConfigureAwait(false);

            var built = Path.Combine(tree, "objs", "nginx");
            var elf = ElfFile.Read(built);
            if (!elf.IsStatic)
                throw new InvalidOperationException($"{built} links dynamically (has PT_INTERP) although configured with -static");
            if (elf.Arch != toolchain.Arch)
                throw new InvalidOperationException($"{built} is for ELF machine 0x{elf.Machine:x}, not {arch}");

            // The finished folder appears whole: copy into a temp folder, then rename it into place. An entry once published
            // stays: kube-nginx is not byte-reproducible, and another build sharing the cache may have published this key
            // while this one compiled; its binary may be in bundles already, so this build uses it too.
            var staged = Path.Combine(work, "out");
            Directory.CreateDirectory(staged);
            File.Copy(built, Path.Combine(staged, BinaryName));
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(Path.Combine(staged, BinaryName), NodeFile.Executable);
            Directory.CreateDirectory(Path.GetDirectoryName(dir)!);
            if (Directory.Exists(dir) && !File.Exists(binary))
                Directory.Delete(dir, recursive: true);   // a folder without its binary was never published
            if (!Publish(staged, dir))
            {
                progress.Complete("another build cached it first");
                reporter.Info($"kube-nginx {arch}: another build cached it first ({key[..12]}); using that one");
                return new Outcome(binary, Provenance(artifact, toolchain, binary), CacheHit: true);
            }
            progress.Complete(toolchain.IsCross ? $"static, --with-stream, cross-compiled for {toolchain.Target}" : "static, --with-stream");
        }
        finally
        {
            if (Directory.Exists(work))
                Directory.Delete(work, recursive: true);
        }
        reporter.Info($"kube-nginx {arch}: built ({key[..12]})");
        return new Outcome(binary, Provenance(artifact, toolchain, binary), CacheHit: false);
    }

    /// <summary>Renames <paramref name="staged"/> to <paramref name="dir"/> unless that is there already (false then).</summary>
    private static bool Publish(string staged, string dir)
    {
        if (Directory.Exists(dir))
            return false;
        try
        {
            Directory.Move(staged, dir);
            return true;
        }
        catch (IOException) when (Directory.Exists(dir))
        {
            return false;   // published by another build between the look and the rename
        }
    }

    public static string CacheKey(LockArtifact artifact, NginxToolchain toolchain)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        ArgumentNullException.ThrowIfNull(toolchain);
        var text = string.Join('\n', [
            $"{artifact.Algorithm}:{artifact.Checksum}", .. ConfigureArguments, Names.Of(toolchain.Arch), toolchain.Compiler, toolchain.Target,
            toolchain.Emulator ?? "", .. toolchain.Shims.Select(s => $"{s.Name}:{s.Sha256}")]);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    private static NginxProvenance Provenance(LockArtifact artifact, NginxToolchain toolchain, string binary)
    {
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(binary)));
        return new NginxProvenance(toolchain.Arch, artifact.Version, artifact.Checksum, ConfigureArguments,
            toolchain.Compiler, toolchain.Target, toolchain.Emulator, toolchain.Shims, sha256);
    }

    private static async Task Run(string file, IEnumerable<string> args, string dir, IReadOnlyDictionary<string, string> env, string what,
        NginxToolchain toolchain, CancellationToken ct)
    {
        var result = await ProcessRunner.RunAsync(file, args, dir, env, ct).ConfigureAwait(false);
        if (result.Succeeded)
            return;
        // configure says only which check failed; why (compiler or emulator output) is in its log, and the work
        // tree holding that log is removed on the way out.
        var log = Path.Combine(dir, "objs", "autoconf.err");
        var why = what == "configure" && File.Exists(log)
            ? $"{Environment.NewLine}objs/autoconf.err ends with:{Environment.NewLine}{string.Join(Environment.NewLine, File.ReadLines(log).Where(l => l.Length > 0).TakeLast(15))}"
            : "";
        throw new InvalidOperationException(
            $"kube-nginx {what} for {Names.Of(toolchain.Arch)} ({toolchain.Target}) failed (exit {result.ExitCode}): {result.Command}{Environment.NewLine}{result.Tail()}{why}");
    }
}
