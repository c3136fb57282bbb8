using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Layout;
using Bundler.Pipeline;

namespace Bundler.Nginx;

/// <summary>
/// Builds kube-nginx from a verified source archive: TCP proxy only (<c>--with-stream --without-http</c>, as the
/// seed tutorial does), linked statically so it runs on any target distro. The result is cached under a key
/// made of the source checksum, the configure arguments, the compiler version and the arch: the same key
/// never compiles twice.
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

    public static Arch? MachineArch => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => Arch.Amd64,
        Architecture.Arm64 => Arch.Arm64,
        _ => null,
    };

    public async Task<Outcome> BuildAsync(FetchedSource source, IEnumerable<Arch> targetArches, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        var machine = MachineArch;
        var foreign = targetArches.Where(a => a != machine).Distinct().ToList();
        if (foreign.Count > 0)
            throw new UserInputException(
                $"kube-nginx is compiled on this machine ({RuntimeInformation.OSArchitecture}), but the site has {string.Join(", ", foreign.Select(Names.Of))} nodes; " +
                $"build the bundle on a {string.Join("/", foreign.Select(Names.Of))} machine (or split the site by arch)");

        var cc = _findTool("cc") ?? _findTool("gcc");
        var make = _findTool("make");
        if (cc is null || make is null)
            throw new UserInputException(
                $"building kube-nginx needs a C compiler and make ({(cc is null ? "no cc/gcc" : "")}{(cc is null && make is null ? ", " : "")}{(make is null ? "no make" : "")} on PATH); " +
                "install them with: apt-get install gcc make libc6-dev (Debian/Ubuntu) or dnf install gcc make glibc-static (RHEL/Fedora)");

        var version = await ProcessRunner.RunAsync(cc, ["--version"], cancellationToken: cancellationToken).ConfigureAwait(false);
        var compiler = version.StandardOutput.Split('\n')[0].Trim();
        var artifact = source.Artifact;
        var key = CacheKey(artifact, compiler, machine!.Value);
        var dir = Path.Combine(cacheRoot, "nginx", key);
        var binary = Path.Combine(dir, BinaryName);

        if (File.Exists(binary))
        {
            reporter.Info($"kube-nginx: cache hit ({key[..12]}), no compile");
            return new Outcome(binary, Provenance(artifact, compiler, binary), CacheHit: true);
        }

        var work = AtomicFile.TempName(Path.Combine(cacheRoot, "nginx", "work"));
        try
        {
            using var progress = reporter.Begin($"kube-nginx {artifact.Version}: configure and compile");
            SafeUnpacker.Extract(source.ArchivePath, artifact.FileName, work, members: null);
            var tree = Directory.GetDirectories(work) is [var single] && !File.Exists(Path.Combine(work, "configure")) ? single : work;
            var env = new Dictionary<string, string> { ["LC_ALL"] = "C" };

            await Run(Path.Combine(tree, "configure"), ConfigureArguments, tree, env, "configure", cancellationToken).ConfigureAwait(false);
            await Run(make, [$"-j{Environment.ProcessorCount}"], tree, env, "make", cancellationToken).ConfigureAwait(false);

            var built = Path.Combine(tree, "objs", "nginx");
            var elf = ElfFile.Read(built);
            if (!elf.IsStatic)
                throw new InvalidOperationException($"{built} links dynamically (has PT_INTERP) although configured with -static");
            if (elf.Arch != machine)
                throw new InvalidOperationException($"{built} is for ELF machine 0x{elf.Machine:x}, not {Names.Of(machine.Value)}");

            // The finished folder appears whole: copy into a temp folder, then rename it into place.
            var staged = Path.Combine(work, "out");
            Directory.CreateDirectory(staged);
            File.Copy(built, Path.Combine(staged, BinaryName));
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(Path.Combine(staged, BinaryName), NodeFile.Executable);
            Directory.CreateDirectory(Path.GetDirectoryName(dir)!);
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
            Directory.Move(staged, dir);
            progress.Complete("static, --with-stream");
        }
        finally
        {
            if (Directory.Exists(work))
                Directory.Delete(work, recursive: true);
        }
        reporter.Info($"kube-nginx: built ({key[..12]})");
        return new Outcome(binary, Provenance(artifact, compiler, binary), CacheHit: false);
    }

    public static string CacheKey(LockArtifact artifact, string compiler, Arch arch)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        var text = string.Join('\n', [$"{artifact.Algorithm}:{artifact.Checksum}", .. ConfigureArguments, compiler, Names.Of(arch)]);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    private static NginxProvenance Provenance(LockArtifact artifact, string compiler, string binary)
    {
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(binary)));
        return new NginxProvenance(artifact.Version, artifact.Checksum, ConfigureArguments, compiler, sha256);
    }

    private static async Task Run(string file, IEnumerable<string> args, string dir, IReadOnlyDictionary<string, string> env, string what, CancellationToken ct)
    {
        var result = await ProcessRunner.RunAsync(file, args, dir, env, ct).ConfigureAwait(false);
        if (!result.Succeeded)
            throw new InvalidOperationException(
                $"kube-nginx {what} failed (exit {result.ExitCode}): {result.Command}{Environment.NewLine}{result.Tail()}" +
                (what == "make" && result.Tail().Contains("-lc", StringComparison.Ordinal) ? $"{Environment.NewLine}static linking needs libc6-dev (Debian) or glibc-static (RHEL)" : ""));
    }
}
