using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Nginx;
using Bundler.Packaging;
using Bundler.Pipeline;
using Bundler.Pki;
using Bundler.Render;
using Bundler.Signing;

namespace Bundler.Tests.Packaging;

/// <summary>
/// A small real build for the packaging, installer and inspection tests: a three-node site (ECDSA keys, cheap to
/// make) built by the real fetch, pki, render, package and sign steps. The only stand-ins are the upstream artifacts
/// we cannot have here: real ELF files from /usr/bin packed in upstream's archive layout in a mirror folder, and the
/// kube-nginx the nginx step would compile from the (stand-in) nginx source.
/// </summary>
public sealed class BundleFixture : IDisposable
{
    public const long Epoch = 1_767_225_600; // 2026-01-01T00:00:00Z

    /// <summary>The build's clock: certificates are issued at <see cref="Epoch"/>, so their dates are fixed too.</summary>
    public static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(Epoch);

    /// <summary>Node binary name → a real ELF file that stands in for it.</summary>
    public static readonly IReadOnlyDictionary<string, string> StandIns = new Dictionary<string, string>
    {
        ["etcd"] = "/usr/bin/ls", ["etcdctl"] = "/usr/bin/cat", ["kube-apiserver"] = "/usr/bin/tar", ["kube-controller-manager"] = "/usr/bin/cp",
        ["kube-scheduler"] = "/usr/bin/mv", ["kubectl"] = "/usr/bin/env", ["kubelet"] = "/usr/bin/sort", ["kube-proxy"] = "/usr/bin/head",
        ["containerd"] = "/usr/bin/tail", ["containerd-shim-runc-v2"] = "/usr/bin/wc", ["ctr"] = "/usr/bin/tr", ["runc"] = "/usr/bin/cut",
        ["crictl"] = "/usr/bin/tee", ["bridge"] = "/usr/bin/uniq", ["host-local"] = "/usr/bin/comm", ["loopback"] = "/usr/bin/join",
        ["portmap"] = "/usr/bin/paste", ["kube-nginx"] = "/usr/bin/sha256sum",
    };

    /// <summary>The upstream artifacts, laid out as upstream ships them: (name, version, file, archive member → binary, or null: a plain file).</summary>
    private static readonly (string Name, string Version, string File, (string Member, string Binary)[] Members)[] Artifacts =
    [
        ("kubernetes-server", "1.36.0", "kubernetes-server-linux-amd64.tar.gz",
            [.. new[] { "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl" }.Select(b => ($"kubernetes/server/bin/{b}", b))]),
        ("etcd", "3.6.14", "etcd-v3.6.14-linux-amd64.tar.gz", [("etcd-v3.6.14-linux-amd64/etcd", "etcd"), ("etcd-v3.6.14-linux-amd64/etcdctl", "etcdctl")]),
        ("containerd", "2.1.9", "containerd-2.1.9-linux-amd64.tar.gz", [("bin/containerd", "containerd"), ("bin/containerd-shim-runc-v2", "containerd-shim-runc-v2"), ("bin/ctr", "ctr")]),
        ("runc", "1.4.3", "runc.amd64", [("", "runc")]),
        ("cni-plugins", "1.9.1", "cni-plugins-linux-amd64-v1.9.1.tgz", [.. new[] { "bridge", "host-local", "loopback", "portmap" }.Select(p => ($"./{p}", p))]),
        ("crictl", "1.36.0", "crictl-v1.36.0-linux-amd64.tar.gz", [("crictl", "crictl")]),
    ];

    /// <summary>The lock's images: TEST STAND-INS under names of their own, each a real image a containerd can import and run.</summary>
    public static readonly IReadOnlyList<(string Name, string Ref)> Images =
    [
        ("pause", "registry.stand-in.invalid/pause:3.10.2"),
        ("coredns", "registry.stand-in.invalid/coredns/coredns:v1.14.2"),
    ];

    /// <summary>The amd64 layer's bin/busybox of an image: the real static busybox, with the image's name appended so each image has bytes of its own.</summary>
    private byte[] ImageBinary(string name) =>
        [.. File.ReadAllBytes(_imageBinary), .. System.Text.Encoding.UTF8.GetBytes($"\nTEST STAND-IN {name}\n")];

    // Any ELF serves where busybox-static is not installed; the tests that run the image require it (Requirements.cs).
    private string _imageBinary = File.Exists(Bundler.Tests.Fetch.Images.OciTestLayout.Busybox) ? Bundler.Tests.Fetch.Images.OciTestLayout.Busybox : "/usr/bin/env";

    /// <summary>A new upstream release of an image: its amd64 layer gets other bytes, so its digest (and the lock's) change.</summary>
    public void ReplaceImages(string binary)
    {
        _imageBinary = binary;
        WriteUpstream();
    }

    private readonly Dictionary<string, string> _binaries;

    /// <param name="root">A folder to build in (the SIGKILL test's child reuses one); a new temporary folder if null.</param>
    public BundleFixture(string? root = null)
    {
        Root = root ?? Directory.CreateTempSubdirectory("kbundle-pkg-").FullName;
        Directory.CreateDirectory(Mirror);
        _binaries = new Dictionary<string, string>(StandIns);
        SiteYaml = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "Packaging", "site.yaml"));
        WriteUpstream();
    }

    public string Root { get; }
    public string Mirror => Path.Combine(Root, "mirror");
    public string LockPath => Path.Combine(Root, "lock.yaml");
    public string SitePath => Path.Combine(Root, "site.yaml");
    public string Cache => Path.Combine(Root, "cache");
    public string State => Path.Combine(Root, "state");

    /// <summary>The site the next build uses (the test site: m1 etcd+master, w1 and w2 workers).</summary>
    public string SiteYaml { get; set; }

    public SiteSpec Site => SiteLoader.Parse(SiteYaml, SitePath, PinCatalog.FromFile(LockPath)).Site;

    /// <summary>What the last build handed on, step by step.</summary>
    public BuildOutputs? Last { get; private set; }

    public string Out(string name = "artifacts") => Path.Combine(Root, name);

    /// <summary>
    /// A host for the installer, as the installer tests run it: SOURCE_DATE_EPOCH fixed, <c>Root/tmp</c> as its TMPDIR (the
    /// environment returned, for the test to add to), and <c>Root/node</c> made for <c>--root</c>.
    /// </summary>
    public (string NodeRoot, Dictionary<string, string> Env) InstallerHost()
    {
        Environment.SetEnvironmentVariable("SOURCE_DATE_EPOCH", Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var tmp = Path.Combine(Root, "tmp");
        Directory.CreateDirectory(tmp);
        return (Directory.CreateDirectory(Path.Combine(Root, "node")).FullName, new() { ["TMPDIR"] = tmp });
    }

    /// <summary>An executable script <c>Root/name</c> (a stand-in the installer is pointed at).</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public string Executable(string name, string script)
    {
        var path = Path.Combine(Root, name);
        File.WriteAllText(path, script);
        File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
        return path;
    }

    /// <summary>A new upstream release of one binary: its archive (and the lock's checksum) change, nothing else.</summary>
    public void ReplaceUpstream(string binary, string source)
    {
        _binaries[binary] = source;
        WriteUpstream();
    }

    /// <summary>The real fetch (offline, from the mirror folder), pki, render, package and sign steps into <paramref name="outDir"/>.</summary>
    /// <param name="now">The build's clock (certificates, the report's date); <see cref="Now"/> unless given.</param>
    /// <param name="beforeSign">Runs between the package and sign steps (what else may touch the folder meanwhile).</param>
    public async Task<BuildOutputs> BuildAsync(string? outDir = null, bool renew = false, DateTimeOffset? now = null, Action? beforeSign = null)
    {
        File.WriteAllText(SitePath, SiteYaml);
        var options = new BuildOptions
        {
            SitePath = SitePath, PinsFile = LockPath, Mirrors = [Mirror], Offline = true,
            CacheDir = Cache, StateDir = State, OutDir = outDir ?? Out(), Renew = renew,
        };
        var inputs = Builder.LoadInputs(options) with { Clock = new FixedClock(now ?? Now) };
        var reporter = new RecordingReporter();
        var fetched = await new FetchStep().RunAsync(inputs, reporter);
        var nginx = StandInNginx(fetched);
        var pki = PkiStep.Run(inputs, reporter);
        var rendered = await RenderStep.RunAsync(inputs, fetched, nginx, pki.Material, reporter);
        var packaged = await PackageStep.RunAsync(inputs, rendered, fetched, nginx, pki, reporter);
        beforeSign?.Invoke();
        var signed = await SignStep.RunAsync(inputs, packaged, pki.SigningKey, reporter);
        Reporter = reporter;
        return Last = new BuildOutputs(fetched, nginx, pki, rendered, packaged, signed);
    }

    /// <summary>
    /// <c>kbundle build</c> as a user types it for this fixture's site (offline, from the mirror folder). kube-nginx is a
    /// cache hit: the stand-in sits under the key the nginx step computes, so no compiler runs, but the step still asks
    /// for cc and make as on a real build machine (tests using this need them: ToolFact("cc", "make")).
    /// </summary>
    public async Task<List<string>> CommandLineAsync(string? outDir = null, string? stateDir = null)
    {
        File.WriteAllText(SitePath, SiteYaml);
        var machine = NginxBuilder.MachineArch!.Value;
        var toolchain = await NginxToolchain.FindAsync(machine, machine, ProcessRunner.Find);
        var artifact = LockFile.Load(LockPath).Artifacts.Single(a => a.Name == NginxStep.SourceArtifact);
        var cached = Path.Combine(Cache, "nginx", NginxBuilder.CacheKey(artifact, toolchain), NginxBuilder.BinaryName);
        Directory.CreateDirectory(Path.GetDirectoryName(cached)!);
        File.Copy(_binaries["kube-nginx"], cached, overwrite: true);
        return ["build", SitePath, "--pins", LockPath, "--mirror", Mirror, "--offline", "--cache", Cache, "--state", stateDir ?? State, "--out", outDir ?? Out()];
    }

    /// <summary>What the last build reported.</summary>
    public RecordingReporter Reporter { get; private set; } = new();

    /// <summary>What the nginx step hands on, for a kube-nginx we cannot compile here: provenance from the fetched source.</summary>
    private NginxResult StandInNginx(FetchResult fetched)
    {
        var source = fetched.Sources[NginxStep.SourceArtifact].Artifact;
        var binary = _binaries["kube-nginx"];
        var provenance = new NginxProvenance(Arch.Amd64, source.Version, source.Checksum, NginxBuilder.ConfigureArguments, "stand-in (not compiled)",
            "x86_64-linux-gnu", Emulator: null, ConfigureShims: [], Sha256(File.ReadAllBytes(binary)));
        return new NginxResult(new Dictionary<Arch, NginxBuild> { [Arch.Amd64] = new(binary, provenance) });
    }

    /// <summary>Writes the mirror folder and the lock pinning it. Archives are deterministic: an unchanged one keeps its checksum.</summary>
    private void WriteUpstream()
    {
        var lockText = new StringBuilder("# TEST LOCK: stand-in binaries from /usr/bin in upstream's archive layout.\nkubernetes: 1.36.0\nartifacts:\n");
        foreach (var (name, version, file, members) in Artifacts)
        {
            var path = Path.Combine(Mirror, file);
            string entries;
            if (members is [("", var plain)])
            {
                File.Copy(_binaries[plain], path, overwrite: true);
                entries = $"    install: /opt/k8s/bin/{plain}\n";
            }
            else
            {
                TarGz(path, members.Select(m => (m.Member, _binaries[m.Binary])));
                entries = "    files:\n" + string.Concat(members.Select(m =>
                    $"      {m.Member}: {(m.Member.StartsWith("./", StringComparison.Ordinal) ? "/opt/cni/bin" : "/opt/k8s/bin")}/{m.Binary}\n"));
            }
            lockText.Append($"  - name: {name}\n    version: {version}\n    license: Apache-2.0\n    arch: amd64\n    url: https://stand-in.invalid/{file}\n")
                .Append($"    sha256: {Sha256(File.ReadAllBytes(path))}\n    # checksum source: {ChecksumSource}\n").Append(entries);
        }
        var nginxSource = Path.Combine(Mirror, "nginx-1.22.1.tar.gz");
        TarGz(nginxSource, []);
        lockText.Append($"  - name: nginx\n    version: 1.22.1\n    license: BSD-2-Clause\n    arch: any\n    kind: source\n    url: https://stand-in.invalid/nginx-1.22.1.tar.gz\n")
            .Append($"    sha256: {Sha256(File.ReadAllBytes(nginxSource))}\n    # checksum source: {ChecksumSource}\n");
        // The images every node that runs a kubelet carries, carried in as an OCI layout (mirror/oci/): two-platform
        // stand-ins with a real static busybox as the amd64 layer.
        lockText.Append("images:\n");
        foreach (var (name, reference) in Images)
        {
            var layout = Bundler.Tests.Fetch.Images.OciTestLayout.Build(Path.Combine(Mirror, "oci"), ImageBinary(name));
            lockText.Append($"  - name: {name}\n    ref: {reference}\n    license: Apache-2.0\n    digest: {layout.Index}\n    # checksum source: {ChecksumSource}\n");
        }
        lockText.Append(MoreLock);
        File.WriteAllText(LockPath, lockText.ToString());
    }

    /// <summary>What the test lock says of every checksum's source (the lock's "# checksum source:" comment).</summary>
    public string ChecksumSource { get; set; } = "the test wrote these archives itself";

    /// <summary>Lines appended to the lock (an images: section, say); <see cref="RewriteLock"/> applies a change.</summary>
    public string MoreLock { get; set; } = "";

    /// <summary>Rewrites the lock (e.g. after <see cref="ChecksumSource"/> changed).</summary>
    public void RewriteLock() => WriteUpstream();

    /// <summary>A deterministic upstream-style .tar.gz of executables (mode 0755, one fixed mtime): the same members, the same bytes.</summary>
    internal static void TarGz(string path, IEnumerable<(string Member, string Source)> members)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Ustar);
        foreach (var (member, source) in members)
        {
            tar.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, member)
            {
                Mode = (UnixFileMode)0b111_101_101,
                ModificationTime = Now,
                DataStream = new MemoryStream(File.ReadAllBytes(source)),
            });
        }
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>Runs a program through the library's one process runner (working folder / unless given).</summary>
    public static (int Code, string Out, string Err) Run(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null, string? workDir = null)
    {
        var result = ProcessRunner.RunAsync(file, args, workDir ?? "/", env).GetAwaiter().GetResult();
        return (result.ExitCode, result.StandardOutput, result.StandardError);
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>A clock that always says the same time.</summary>
public sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
