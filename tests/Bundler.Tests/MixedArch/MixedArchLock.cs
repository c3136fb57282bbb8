using System.Security.Cryptography;
using System.Text;
using Bundler.Configuration;
using Bundler.Nginx;
using Bundler.Tests.Fetch.Images;
using Bundler.Tests.Packaging;

namespace Bundler.Tests.MixedArch;

/// <summary>
/// The mixed-arch test lock and its mirror folder: every artifact pinned once for amd64 and once for arm64, as upstream
/// ships them (one archive per arch, the arch in its file name). Real where this machine has them: etcd and etcdctl
/// 3.4.23 are Debian bookworm's own builds (amd64 from the installed etcd-server and etcd-client, arm64 unpacked by
/// .ci/debian-components.sh). Everything else is a TEST STAND-IN: one small static C program compiled by the test for
/// each arch (cc, aarch64-linux-gnu-gcc), with the component's name appended, that prints which binary it stands in
/// for. The images are two-platform stand-ins whose layers hold that program of their arch. nginx is Debian's orig
/// tarball (byte-identical to upstream 1.22.1), compiled for real by the nginx step.
/// </summary>
internal sealed class MixedArchLock
{
    public const string EtcdVersion = "3.4.23";

    /// <summary>(arch, node binary name) → the file the lock's archive was packed from.</summary>
    public IReadOnlyDictionary<(Arch Arch, string Binary), string> Sources => _sources;

    /// <summary>The stand-in program per arch, without a trailer.</summary>
    public IReadOnlyDictionary<Arch, string> StandInPrograms => _programs;

    public required string LockFile { get; init; }
    public required string MirrorDir { get; init; }
    public required IReadOnlyList<(string Name, OciTestLayout Layout)> Images { get; init; }

    private readonly Dictionary<(Arch, string), string> _sources = [];
    private readonly Dictionary<Arch, string> _programs = [];

    private const string StandInSource = """
        /* TEST STAND-IN for an upstream binary the CI machine cannot have; the bundle carries it where the real one goes. */
        #include <stdio.h>
        #include <string.h>
        int main(int argc, char **argv) {
            const char *self = strrchr(argv[0], '/');
            printf("TEST STAND-IN %s (%s): not the real binary\n", self ? self + 1 : argv[0], ARCH);
            return argc > 99;
        }
        """;

    /// <summary>Where the arm64 etcd and etcdctl are (.ci/debian-components.sh; . .cache/testdata/debian/env).</summary>
    public static string Arm64Etcd => Path.Combine(Environment.GetEnvironmentVariable("KBUNDLE_ETCD_ARM64_DIR") ?? "", "etcd");
    public static string Arm64Etcdctl => Path.Combine(Environment.GetEnvironmentVariable("KBUNDLE_ETCDCTL_ARM64_DIR") ?? "", "etcdctl");

    /// <summary>bookworm's etcd-server and etcd-client (amd64), which .ci/run installs.</summary>
    public const string Amd64Etcd = "/usr/bin/etcd";
    public const string Amd64Etcdctl = "/usr/bin/etcdctl";

    public static async Task<MixedArchLock> BuildAsync(string directory, string nginxSource)
    {
        var mirror = Directory.CreateDirectory(Path.Combine(directory, "mirror")).FullName;
        var programs = new Dictionary<Arch, string>();
        foreach (var arch in new[] { Arch.Amd64, Arch.Arm64 })
            programs[arch] = await CompileStandInAsync(directory, arch);

        var sources = new Dictionary<(Arch, string), string>();
        var lockText = new StringBuilder("# TEST LOCK: amd64 and arm64. Debian's etcd 3.4.23 for both; TEST STAND-INS for the rest.\nkubernetes: 1.36.0\nartifacts:\n");
        var standIns = Directory.CreateDirectory(Path.Combine(directory, "stand-ins")).FullName;

        string StandIn(Arch arch, string binary)
        {
            var path = Path.Combine(standIns, Names.Of(arch), binary);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            // A trailer after the ELF changes nothing the program does, and gives each stand-in bytes of its own.
            File.WriteAllBytes(path, [.. File.ReadAllBytes(programs[arch]), .. Encoding.UTF8.GetBytes($"\nTEST STAND-IN for {binary} ({Names.Of(arch)})\n")]);
            return path;
        }

        void Pin(Arch arch, string name, string version, string fileName, IReadOnlyList<(string Member, string NodePath, string Source)> members)
        {
            var path = Path.Combine(mirror, fileName);
            string entries;
            if (members is [("", var install, var plain)])
            {
                File.Copy(plain, path);
                entries = $"    install: {install}\n";
            }
            else
            {
                BundleFixture.TarGz(path, members.Select(m => (m.Member, m.Source)));
                entries = "    files:\n" + string.Concat(members.Select(m => $"      {m.Member}: {m.NodePath}\n"));
            }
            foreach (var m in members)
                sources[(arch, Path.GetFileName(m.NodePath))] = m.Source;
            lockText.Append($"  - name: {name}\n    version: {version}\n    arch: {Names.Of(arch)}\n    url: https://upstream.invalid/{fileName}\n")
                .Append($"    sha256: {Sha256(File.ReadAllBytes(path))}\n").Append(entries);
        }

        foreach (var arch in new[] { Arch.Amd64, Arch.Arm64 })
        {
            var a = Names.Of(arch);
            var kube = new[] { "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl" };
            Pin(arch, "kubernetes-server", "1.36.0", $"kubernetes-server-linux-{a}.tar.gz",
                kube.Select(b => ($"kubernetes/server/bin/{b}", $"/opt/k8s/bin/{b}", StandIn(arch, b))).ToList());
            var (etcd, etcdctl) = arch == Arch.Amd64 ? (Amd64Etcd, Amd64Etcdctl) : (Arm64Etcd, Arm64Etcdctl);
            Pin(arch, "etcd", EtcdVersion, $"etcd-v{EtcdVersion}-linux-{a}.tar.gz",
                [($"etcd-v{EtcdVersion}-linux-{a}/etcd", "/opt/k8s/bin/etcd", etcd), ($"etcd-v{EtcdVersion}-linux-{a}/etcdctl", "/opt/k8s/bin/etcdctl", etcdctl)]);
            Pin(arch, "containerd", "2.1.9", $"containerd-2.1.9-linux-{a}.tar.gz",
                new[] { "containerd", "containerd-shim-runc-v2", "ctr" }.Select(b => ($"bin/{b}", $"/opt/k8s/bin/{b}", StandIn(arch, b))).ToList());
            Pin(arch, "runc", "1.4.3", $"runc.{a}", [("", "/opt/k8s/bin/runc", StandIn(arch, "runc"))]);
            Pin(arch, "cni-plugins", "1.9.1", $"cni-plugins-linux-{a}-v1.9.1.tgz",
                new[] { "bridge", "host-local", "loopback", "portmap" }.Select(p => ($"./{p}", $"/opt/cni/bin/{p}", StandIn(arch, p))).ToList());
            Pin(arch, "crictl", "1.36.0", $"crictl-v1.36.0-linux-{a}.tar.gz", [("crictl", "/opt/k8s/bin/crictl", StandIn(arch, "crictl"))]);
        }

        File.Copy(nginxSource, Path.Combine(mirror, "nginx-1.22.1.tar.gz"));
        lockText.Append("  - name: nginx\n    version: 1.22.1\n    arch: any\n    kind: source\n    url: https://upstream.invalid/nginx-1.22.1.tar.gz\n")
            .Append($"    sha256: {Sha256(File.ReadAllBytes(Path.Combine(mirror, "nginx-1.22.1.tar.gz")))}\n");

        // Carried in as an OCI layout (mirror/oci/): each image's layer per arch holds the stand-in program of that arch.
        lockText.Append("images:\n");
        var images = new List<(string, OciTestLayout)>();
        foreach (var name in new[] { "pause", "coredns" })
        {
            byte[] Marked(Arch arch) => [.. File.ReadAllBytes(programs[arch]), .. Encoding.UTF8.GetBytes($"\nTEST STAND-IN for the {name} image ({Names.Of(arch)})\n")];
            var layout = OciTestLayout.Build(Path.Combine(mirror, "oci"), Marked(Arch.Amd64), ["/bin/busybox"], $"TEST STAND-IN for {name}", Marked(Arch.Arm64));
            images.Add((name, layout));
            lockText.Append($"  - name: {name}\n    ref: registry.stand-in.invalid/{name}:v1\n    digest: {layout.Index}\n");
        }

        var lockFile = Path.Combine(directory, "mixed-lock.yaml");
        File.WriteAllText(lockFile, lockText.ToString());
        var result = new MixedArchLock { LockFile = lockFile, MirrorDir = mirror, Images = images };
        foreach (var (key, value) in sources)
            result._sources[key] = value;
        foreach (var (key, value) in programs)
            result._programs[key] = value;
        return result;
    }

    /// <summary>The stand-in program, linked static for <paramref name="arch"/> by that arch's compiler (the one the nginx step uses).</summary>
    private static async Task<string> CompileStandInAsync(string directory, Arch arch)
    {
        var dir = Directory.CreateDirectory(Path.Combine(directory, "stand-in-src")).FullName;
        var source = Path.Combine(dir, "stand-in.c");
        File.WriteAllText(source, StandInSource);
        var output = Path.Combine(dir, "stand-in-" + Names.Of(arch));
        var compiler = arch == NginxToolchain.MachineArch ? "cc" : CrossTarget.For(arch).Compiler;
        var compile = await ProcessRunner.RunAsync(compiler, ["-static", "-Os", "-s", $"-DARCH=\"{Names.Of(arch)}\"", "-o", output, source], dir);
        Assert.True(compile.Succeeded, $"{compiler} could not build the {Names.Of(arch)} stand-in: {compile.Tail()}");
        Assert.Equal(arch, ElfFile.Read(output).Arch);
        return output;
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
