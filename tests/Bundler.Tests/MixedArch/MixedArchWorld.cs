using System.Collections.Concurrent;
using System.Text.Json;
using Bundler.Configuration;
using Bundler.Nginx;
using Bundler.Tests.Cli;
using Bundler.Tests.Nginx;

namespace Bundler.Tests.MixedArch;

/// <summary>
/// What the mixed-arch tests need: the real nginx source, the arm64 cross toolchain and emulator, bookworm's etcd for
/// amd64 (installed) and arm64 (etcd-server, etcd-client) and arm64 bash-static (.ci/debian-components.sh). Away from CI
/// a machine without them SKIPS the test with the reason; under CI=true the test runs and fails on what is missing.
/// </summary>
public sealed class MixedArchFactAttribute : FactAttribute
{
    /// <param name="containerd">The test also runs Debian's containerd (root, apt-get install containerd).</param>
    public MixedArchFactAttribute(bool containerd = false) =>
        Skip = Requirement.SkipUnlessCi(MixedArchWorld.Missing() ?? (containerd ? Requirement.Root ?? MissingContainerd() : null));

    private static string? MissingContainerd() =>
        new[] { "/usr/bin/containerd", "/usr/bin/ctr" }.Where(p => !File.Exists(p)).ToList() is { Count: > 0 } missing
            ? $"needs {string.Join(", ", missing)} (apt-get install containerd)"
            : null;
}

[CollectionDefinition(Name)]
public sealed class MixedArchCollection : ICollectionFixture<MixedArchWorld>
{
    public const string Name = "mixed-arch";
}

/// <summary>
/// Two sites built once by <c>kbundle build</c> (in-process, as a user types it) from one test lock and one cache, shared by
/// the mixed-arch tests: <c>mixed</c>, three amd64 masters (etcd and master) and one arm64 worker, and <c>edge</c>, one arm64
/// node running etcd and a master, so an arm64 bundle carries the arm64 etcd. kube-nginx is compiled for real, once per
/// arch (the edge build finds arm64 in the cache): the compiles are the slow part, so the builds are made on first use
/// and kept for every test of the collection.
/// </summary>
public sealed class MixedArchWorld : IDisposable
{
    private readonly Lazy<Task<Builds>> _builds;
    private readonly ConcurrentDictionary<string, string> _extracted = new(StringComparer.Ordinal);

    public MixedArchWorld()
    {
        Root = Directory.CreateTempSubdirectory("kbundle-mixed-").FullName;
        _builds = new Lazy<Task<Builds>>(BuildAsync);
    }

    public string Root { get; }
    public string Cache => Path.Combine(Root, "cache");

    /// <summary>How the arm64 programs run here: qemu-aarch64-static, and the arm64 C library for the dynamically linked ones.</summary>
    public static string Qemu => Environment.GetEnvironmentVariable("KBUNDLE_QEMU_AARCH64") is { Length: > 0 } q ? q : "/usr/bin/qemu-aarch64-static";
    public static string Arm64Sysroot => Environment.GetEnvironmentVariable("KBUNDLE_ARM64_SYSROOT") is { Length: > 0 } s ? s : "/usr/aarch64-linux-gnu";

    /// <summary>bookworm's arm64 bash-static (.ci/debian-components.sh).</summary>
    public static string Arm64Bash => Path.Combine(Environment.GetEnvironmentVariable("KBUNDLE_BASH_ARM64_DIR") ?? "", "bash-static");

    public const string MixedSiteYaml = """
        name: mixed
        kubernetes: 1.36.0
        arch: amd64
        network:
          proxyMode: iptables
        # ECDSA: RSA keys are slow to make, and these tests are about arches.
        pki:
          keyAlgorithm: ecdsa-p256
        nodes:
          - name: m1
            ip: 10.77.0.11
            roles: [etcd, master]
          - name: m2
            ip: 10.77.0.12
            roles: [etcd, master]
          - name: m3
            ip: 10.77.0.13
            roles: [etcd, master]
          - name: w1
            ip: 10.77.0.21
            roles: [worker]
            arch: arm64
        """;

    public const string EdgeSiteYaml = """
        name: edge
        kubernetes: 1.36.0
        arch: arm64
        network:
          proxyMode: iptables
        pki:
          keyAlgorithm: ecdsa-p256
        nodes:
          - name: e1
            ip: 10.78.0.11
            roles: [etcd, master]
        """;

    /// <summary>What a machine lacks to run these tests, or null.</summary>
    public static string? Missing()
    {
        var lacks = new List<string>();
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(NginxSourceFactAttribute.Variable)))
            lacks.Add($"{NginxSourceFactAttribute.Variable} (the nginx 1.22.1 source; .ci/run downloads it)");
        if (CrossToolchainFactAttribute.Missing() is { } cross)
            lacks.Add($"{cross} ({CrossToolchainFactAttribute.Install})");
        if (Requirement.Tools(["cc", "make"]) is { } tools)
            lacks.Add(tools);
        foreach (var file in new[] { MixedArchLock.Amd64Etcd, MixedArchLock.Amd64Etcdctl })
            if (!File.Exists(file))
                lacks.Add($"{file} (apt-get install etcd-server etcd-client)");
        var arm64 = new[] { (MixedArchLock.Arm64Etcd, "KBUNDLE_ETCD_ARM64_DIR"), (MixedArchLock.Arm64Etcdctl, "KBUNDLE_ETCDCTL_ARM64_DIR"), (Arm64Bash, "KBUNDLE_BASH_ARM64_DIR") };
        foreach (var (file, variable) in arm64)
            if (!File.Exists(file))
                lacks.Add($"{variable} naming the folder of bookworm's arm64 {Path.GetFileName(file)} (.ci/debian-components.sh; . .cache/testdata/debian/env)");
        if (!File.Exists(Path.Combine(Arm64Sysroot, "lib", "ld-linux-aarch64.so.1")))
            lacks.Add($"{Arm64Sysroot}/lib/ld-linux-aarch64.so.1 (apt-get install libc6-arm64-cross)");
        return lacks.Count == 0 ? null : "needs " + string.Join("; ", lacks);
    }

    /// <summary>One site's first build: where it went and what kbundle printed.</summary>
    internal sealed record SiteBuild(string Site, string SitePath, string State, string Out, CliRunner.Result Result)
    {
        public string Run(string node) => Path.Combine(Out, node + ".run");

        /// <summary>Progress lines (stderr under --json).</summary>
        public IReadOnlyList<string> Lines => Result.Error.Split('\n', StringSplitOptions.TrimEntries);
    }

    internal sealed record Builds(MixedArchLock Lock, SiteBuild Mixed, SiteBuild Edge);

    /// <summary>The builds, made on first use (a failure fails every test that uses them, with kbundle's output).</summary>
    internal Task<Builds> GetAsync() => _builds.Value;

    /// <summary><c>kbundle build SITE</c> offline from the test lock's mirror folder, into this world's cache; --json: progress on stderr.</summary>
    internal CliRunner.Result Build(string sitePath, string state, string outDir, MixedArchLock mixedLock) =>
        CliRunner.Run("build", sitePath, "--pins", mixedLock.LockFile, "--mirror", mixedLock.MirrorDir, "--offline",
            "--cache", Cache, "--state", state, "--out", outDir, "--json");

    private async Task<Builds> BuildAsync()
    {
        // Under CI=true the tests run whatever is missing: say what, before anything else fails on it.
        Assert.True(Missing() is null, Missing());
        var source = Environment.GetEnvironmentVariable(NginxSourceFactAttribute.Variable);
        Assert.True(File.Exists(source), $"{NginxSourceFactAttribute.Variable}={source}: the nginx 1.22.1 source must exist (.ci/run downloads it)");
        var mixedLock = await MixedArchLock.BuildAsync(Path.Combine(Root, "upstream"), source!);
        SiteBuild One(string name, string yaml)
        {
            var dir = Directory.CreateDirectory(Path.Combine(Root, "sites", name)).FullName;
            var sitePath = Path.Combine(dir, "site.yaml");
            File.WriteAllText(sitePath, yaml);
            var (state, outDir) = (Path.Combine(dir, "state"), Path.Combine(Root, "artifacts", name));
            var result = Build(sitePath, state, outDir, mixedLock); 
            Assert.True(result.ExitCode == 0, $"kbundle build {name}: exit {result.ExitCode}\n{result.All}");
            return new SiteBuild(name, sitePath, state, outDir, result);
        }
        var mixed = One("mixed", MixedSiteYaml);
        var edge = One("edge", EdgeSiteYaml);
        return new Builds(mixedLock, mixed, edge);
    }

    /// <summary>A new empty folder in this world, for one test's files.</summary>
    public string Scratch(string prefix) => Directory.CreateDirectory(Path.Combine(Root, "scratch", $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)])).FullName;

    /// <summary>The bundle unpacked by its own header (<c>--extract</c>, this machine's bash), once per bundle.</summary>
    public string Extracted(string run) => _extracted.GetOrAdd(run, r =>
    {
        var dir = Path.Combine(Root, "extracted", Path.GetFileName(Path.GetDirectoryName(r))!, Path.GetFileNameWithoutExtension(r));
        var result = ProcessRunner.RunAsync("bash", [r, "--extract", dir], Root, new Dictionary<string, string> { ["TMPDIR"] = Root }).GetAwaiter().GetResult();
        Assert.True(result.Succeeded, $"{r} --extract: {result.Tail()}");
        return dir;
    });

    /// <summary>The node's record as the bundle carries it (.kbundle/node.json is not extracted): from the folder's manifest.json.</summary>
    public static JsonElement NodeRecord(string outDir, string node)
    {
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, "manifest.json")));
        return manifest.RootElement.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("name").GetString() == node).Clone();
    }

    /// <summary>The arch an ELF file is for, read from its header; null for a file that is not ELF.</summary>
    public static Arch? ElfArch(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        using (var file = File.OpenRead(path))
            if (file.Read(magic) < 4 || magic[0] != 0x7F || magic[1] != (byte)'E' || magic[2] != (byte)'L' || magic[3] != (byte)'F')
                return null;
        return ElfFile.Read(path).Arch ?? throw new InvalidDataException($"{path}: ELF for machine 0x{ElfFile.Read(path).Machine:x}, neither amd64 nor arm64");
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
