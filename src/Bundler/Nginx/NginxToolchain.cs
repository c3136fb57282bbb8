using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Bundler.Configuration;
using Bundler.Layout;

namespace Bundler.Nginx;

/// <summary>
/// One row per arch kube-nginx is built for: the GNU triplet (its cross compiler is <c>&lt;triplet&gt;-gcc</c>),
/// what <c>uname -m</c> says there, the user-mode emulator that runs configure's test programs when the build
/// machine is another arch, and the Debian packages of that cross toolchain.
/// </summary>
public sealed record CrossTarget(Arch Arch, string Triplet, string Machine, string Emulator, string CompilerPackage, string LibcPackage)
{
    public static readonly IReadOnlyList<CrossTarget> All =
    [
        new(Arch.Amd64, "x86_64-linux-gnu", "x86_64", "qemu-x86_64", "gcc-x86-64-linux-gnu", "libc6-dev-amd64-cross"),
        new(Arch.Arm64, "aarch64-linux-gnu", "aarch64", "qemu-aarch64", "gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross"),
    ];

    public static CrossTarget For(Arch arch) => All.Single(t => t.Arch == arch);

    public string Compiler => $"{Triplet}-gcc";

    /// <summary>Debian's qemu-user-static installs qemu-&lt;arch&gt;-static; newer packaging (qemu-user) plain qemu-&lt;arch&gt;.</summary>
    public IEnumerable<string> EmulatorNames => [$"{Emulator}-static", Emulator];

    public string DebianPackages => $"{CompilerPackage} {LibcPackage} qemu-user-static";
}

/// <summary>A script kbundle puts in front of nginx's configure and make (src/Bundler/Nginx/Cross/), recorded by its sha256.</summary>
public sealed record ConfigureShim(string Name, string Sha256);

/// <summary>
/// The tools that build kube-nginx for one arch, found on PATH and asked who they are: the machine's own cc, or a
/// cross compiler plus an emulator and the shims that let nginx's configure run its test programs through it
/// (docs/decisions.md, "Cross-building kube-nginx"). Everything here is part of the cache key and the provenance.
/// </summary>
public sealed record NginxToolchain(
    Arch Arch,
    string Make,
    string CompilerPath,
    string Compiler,
    string Target,
    string? EmulatorPath,
    string? Emulator,
    string? HostUname,
    IReadOnlyList<ConfigureShim> Shims)
{
    private const string ShimResourcePrefix = "Bundler.Nginx.Cross.";

    public bool IsCross => EmulatorPath is not null;

    public static Arch? MachineArch => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => Configuration.Arch.Amd64,
        Architecture.Arm64 => Configuration.Arch.Arm64,
        _ => null,
    };

    /// <summary>The cross-build shims by name (the file name configure and make see), from the embedded scripts.</summary>
    public static IReadOnlyDictionary<string, byte[]> ShimScripts { get; } = LoadShims();

    /// <summary>
    /// Finds the tools for <paramref name="arch"/> on a build machine of arch <paramref name="machine"/>. A missing tool
    /// is the user's to install: the message names every one missing and the packages that provide them.
    /// </summary>
    public static async Task<NginxToolchain> FindAsync(Arch arch, Arch? machine, Func<string, string?> find, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(find);
        return arch == machine
            ? await FindNativeAsync(arch, find, cancellationToken).ConfigureAwait(false)
            : await FindCrossAsync(arch, machine, find, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<NginxToolchain> FindNativeAsync(Arch arch, Func<string, string?> find, CancellationToken ct)
    {
        var cc = find("cc") ?? find("gcc");
        var make = find("make");
        if (cc is null || make is null)
            throw new UserInputException(
                $"building kube-nginx needs a C compiler and make ({(cc is null ? "no cc/gcc" : "")}{(cc is null && make is null ? ", " : "")}{(make is null ? "no make" : "")} on PATH); " +
                "install them with: apt-get install gcc make libc6-dev (Debian/Ubuntu) or dnf install gcc make glibc-static (RHEL/Fedora)");

        var (compiler, target) = await Describe(cc, ct).ConfigureAwait(false);
        if (!await HasStaticLibc(cc, ct).ConfigureAwait(false))
            throw new UserInputException(
                $"{cc} has no static C library (libc.a), and kube-nginx is linked static; " +
                "install it with: apt-get install libc6-dev (Debian/Ubuntu) or dnf install glibc-static (RHEL/Fedora)");
        return new NginxToolchain(arch, make, cc, compiler, target, null, null, null, []);
    }

    private static async Task<NginxToolchain> FindCrossAsync(Arch arch, Arch? machine, Func<string, string?> find, CancellationToken ct)
    {
        var row = CrossTarget.For(arch);
        var cc = find(row.Compiler);
        var emulator = row.EmulatorNames.Select(find).FirstOrDefault(p => p is not null);
        var make = find("make");
        var uname = find("uname");
        var missing = new List<string>();
        if (make is null)
            missing.Add("make");
        if (cc is null)
            missing.Add(row.Compiler);
        if (emulator is null)
            missing.Add(string.Join(" or ", row.EmulatorNames));
        if (uname is null)
            missing.Add("uname");
        var here = machine is { } m ? Names.Of(m) : RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant();
        if (missing.Count > 0)
            throw new UserInputException(
                $"kube-nginx for the site's {Names.Of(arch)} nodes is cross-compiled on this {here} machine, which needs a {row.Triplet} " +
                $"cross compiler and a user-mode emulator for configure's test programs (no {string.Join(", no ", missing)} on PATH); " +
                $"install them with: apt-get install {(make is null ? "make " : "")}{row.DebianPackages} (Debian/Ubuntu); " +
                $"RHEL/Fedora ship no static {row.Triplet} C library to cross-link against: build the bundle on Debian/Ubuntu or on a {Names.Of(arch)} machine");

        var (compiler, target) = await Describe(cc!, ct).ConfigureAwait(false);
        if (!await HasStaticLibc(cc!, ct).ConfigureAwait(false))
            throw new UserInputException(
                $"{cc} has no static C library for {row.Triplet} (libc.a), and kube-nginx is linked static; " +
                $"install it with: apt-get install {row.LibcPackage} (Debian/Ubuntu)");
        var version = await ProcessRunner.RunAsync(emulator!, ["--version"], cancellationToken: ct).ConfigureAwait(false);
        if (!version.Succeeded)
            throw new UserInputException($"{emulator} --version failed (exit {version.ExitCode}): {version.Tail(3)}; reinstall qemu-user-static");
        var shims = ShimScripts.Select(s => new ConfigureShim(s.Key, Convert.ToHexStringLower(SHA256.HashData(s.Value)))).ToList();
        return new NginxToolchain(arch, make!, cc!, compiler, target, emulator, FirstLine(version.StandardOutput), uname, shims);
    }

    /// <summary>The environment of configure and make; for a cross build, also writes the shims into <paramref name="shimDir"/>.</summary>
    public IReadOnlyDictionary<string, string> PrepareEnvironment(string shimDir)
    {
        ArgumentNullException.ThrowIfNull(shimDir);
        var env = new Dictionary<string, string> { ["LC_ALL"] = "C", ["CC"] = CompilerPath };
        if (!IsCross)
            return env;

        Directory.CreateDirectory(shimDir);
        foreach (var (name, text) in ShimScripts)
        {
            var path = Path.Combine(shimDir, name);
            File.WriteAllBytes(path, text);
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(path, NodeFile.Executable);
        }
        var row = CrossTarget.For(Arch);
        // configure reads CC from the environment and writes it into objs/Makefile, so make uses the shim too;
        // `uname` is found first on PATH by configure only because the shim folder leads.
        env["CC"] = Path.Combine(shimDir, "cc");
        env["PATH"] = shimDir + Path.PathSeparator + (Environment.GetEnvironmentVariable("PATH") ?? "");
        env["KBUNDLE_CROSS_CC"] = CompilerPath;
        env["KBUNDLE_CROSS_EMULATOR"] = EmulatorPath!;
        env["KBUNDLE_CROSS_MACHINE"] = row.Machine;
        env["KBUNDLE_HOST_UNAME"] = HostUname!;
        return env;
    }

    private static async Task<(string Compiler, string Target)> Describe(string cc, CancellationToken ct)
    {
        var version = await ProcessRunner.RunAsync(cc, ["--version"], cancellationToken: ct).ConfigureAwait(false);
        var machine = await ProcessRunner.RunAsync(cc, ["-dumpmachine"], cancellationToken: ct).ConfigureAwait(false);
        if (!version.Succeeded || !machine.Succeeded)
            throw new UserInputException($"{cc} does not answer --version/-dumpmachine: {(version.Succeeded ? machine : version).Tail(3)}");
        return (FirstLine(version.StandardOutput), FirstLine(machine.StandardOutput));
    }

    /// <summary>gcc and clang print the full path of a library they can link, or just its name when they cannot.</summary>
    private static async Task<bool> HasStaticLibc(string cc, CancellationToken ct)
    {
        var answer = await ProcessRunner.RunAsync(cc, ["-print-file-name=libc.a"], cancellationToken: ct).ConfigureAwait(false);
        var path = FirstLine(answer.StandardOutput);
        return answer.Succeeded && Path.IsPathRooted(path) && File.Exists(path);
    }

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();

    private static SortedDictionary<string, byte[]> LoadShims()
    {
        var assembly = typeof(NginxToolchain).Assembly;
        var shims = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ShimResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            shims[Path.GetFileNameWithoutExtension(resource[ShimResourcePrefix.Length..])] = copy.ToArray();
        }
        if (!shims.ContainsKey("cc") || !shims.ContainsKey("uname"))
            throw new InvalidOperationException($"the cross-build shims ({ShimResourcePrefix}cc.sh, uname.sh) are not embedded in {assembly.GetName().Name}");
        return shims;
    }
}
