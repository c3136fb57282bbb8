using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace Bundler.Tests.EndToEnd;

/// <summary>
/// The test lock and its mirror folders, built from what this machine has: Debian's etcd, sid's containerd 2.1.9, CNI
/// plugins 1.9.1 and kubectl 1.36.4 (.ci/debian-components.sh), bookworm's runc 1.1.5, repacked in upstream's archive
/// layout with their real checksums; TEST STAND-INS (tests/Bundler.StandIns) for the Kubernetes binaries that cannot be
/// had here; nginx from Debian's orig tarball (byte-identical to upstream 1.22.1); and the images (TestImages) as an OCI
/// layout carried in with --mirror DIR (DIR/oci/).
/// </summary>
internal static class TestArtifacts
{
    /// <param name="ImagesDir">A --mirror folder holding the OCI layout oci/ of the lock's images.</param>
    public sealed record Result(string LockFile, string MirrorDir, string ImagesDir, TestImages Images);

    /// <summary>Where .ci/debian-components.sh unpacked sid's builds; the variable must name an existing folder.</summary>
    public static string Debian(string variable)
    {
        var dir = Environment.GetEnvironmentVariable(variable);
        Assert.True(Directory.Exists(dir), $"{variable} must name the folder .ci/debian-components.sh unpacked (. .cache/testdata/debian/env; .ci/run sets it)");
        return dir!;
    }

    public static Result Build(string directory, string standInsDll, string flagLists, string nginxSource)
    {
        var containerd = Debian("KBUNDLE_CONTAINERD2_DIR");
        var cni = Debian("KBUNDLE_CNI191_DIR");
        var kubectl = Debian("KBUNDLE_KUBECTL136_DIR");
        var mirror = Directory.CreateDirectory(Path.Combine(directory, "mirror")).FullName;
        var lockText = new StringBuilder("# TEST LOCK: Debian binaries repacked, stand-ins for what cannot be had here.\nkubernetes: 1.36.0\nartifacts:\n");

        void Pin(string name, string version, string fileName, string files, string? kind = null)
        {
            var sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(mirror, fileName))));
            lockText.Append($"  - name: {name}\n    version: {version}\n    arch: {(kind == "source" ? "any" : "amd64")}\n");
            if (kind is not null)
                lockText.Append($"    kind: {kind}\n");
            lockText.Append($"    url: https://upstream.invalid/{fileName}\n    sha256: {sha}\n{files}");
        }

        string StandIn(string component) =>
            $"#!/bin/sh\n# TEST STAND-IN for {component} (the real binary cannot be had on the CI machine)\n" +
            $"KBE_FLAG_LISTS='{flagLists}' exec /usr/bin/dotnet '{standInsDll}' {component} \"$@\"\n";

        var kube = new[] { "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy" };
        var server = kube.Select(c => Member.Text($"kubernetes/server/bin/{c}", StandIn(c)))
            .Append(Member.File("kubernetes/server/bin/kubectl", Path.Combine(kubectl, "kubectl"))).ToList();
        TarGz(Path.Combine(mirror, "kubernetes-server-linux-amd64.tar.gz"), server);
        Pin("kubernetes-server", "1.36.0", "kubernetes-server-linux-amd64.tar.gz",
            "    files:\n" + string.Concat(kube.Append("kubectl").Select(c => $"      kubernetes/server/bin/{c}: /opt/k8s/bin/{c}\n")));

        TarGz(Path.Combine(mirror, "etcd-v3.4.23-linux-amd64.tar.gz"),
            [Member.File("etcd-v3.4.23-linux-amd64/etcd", "/usr/bin/etcd"), Member.File("etcd-v3.4.23-linux-amd64/etcdctl", "/usr/bin/etcdctl")]);
        Pin("etcd", "3.4.23", "etcd-v3.4.23-linux-amd64.tar.gz",
            "    files:\n      etcd-v3.4.23-linux-amd64/etcd: /opt/k8s/bin/etcd\n      etcd-v3.4.23-linux-amd64/etcdctl: /opt/k8s/bin/etcdctl\n");

        // sid's containerd 2.1.9 (what the generated version 3 config is for); bookworm's runc 1.1.5, since sid's needs a newer glibc.
        TarGz(Path.Combine(mirror, "containerd-2.1.9-linux-amd64.tar.gz"),
            new[] { "containerd", "containerd-shim-runc-v2", "ctr" }.Select(b => Member.File($"bin/{b}", Path.Combine(containerd, b))).ToList());
        Pin("containerd", "2.1.9", "containerd-2.1.9-linux-amd64.tar.gz",
            "    files:\n" + string.Concat(new[] { "containerd", "containerd-shim-runc-v2", "ctr" }.Select(b => $"      bin/{b}: /opt/k8s/bin/{b}\n")));

        File.Copy("/usr/sbin/runc", Path.Combine(mirror, "runc.amd64"));
        Pin("runc", "1.1.5", "runc.amd64", "    install: /opt/k8s/bin/runc\n");

        var plugins = new[] { "bridge", "host-local", "loopback", "portmap" };
        TarGz(Path.Combine(mirror, "cni-plugins-linux-amd64-v1.9.1.tgz"), plugins.Select(p => Member.File($"./{p}", Path.Combine(cni, p))).ToList());
        Pin("cni-plugins", "1.9.1", "cni-plugins-linux-amd64-v1.9.1.tgz",
            "    files:\n" + string.Concat(plugins.Select(p => $"      ./{p}: /opt/cni/bin/{p}\n")));

        // crictl cannot be had here either: this stand-in reads the real /etc/crictl.yaml and asks containerd
        // over the configured socket with ctr, so "crictl info answers" still proves the config and the daemon.
        const string crictl = """
            #!/bin/sh
            # TEST STAND-IN for crictl: crictl [--config FILE] info
            config=/etc/crictl.yaml
            [ "$1" = "--config" ] && { config=$2; shift 2; }
            endpoint=$(sed -n 's/^runtime-endpoint: *//p' "$config" | tr -d '"')
            socket=${endpoint#unix://}
            [ -S "$socket" ] || { echo "crictl stand-in: no socket at $socket (from $config)" >&2; exit 1; }
            exec /opt/k8s/bin/ctr --address "$socket" version
            """;
        TarGz(Path.Combine(mirror, "crictl-v1.36.0-linux-amd64.tar.gz"), [Member.Text("crictl", crictl + "\n")]);
        Pin("crictl", "1.36.0", "crictl-v1.36.0-linux-amd64.tar.gz", "    files:\n      crictl: /opt/k8s/bin/crictl\n");

        File.Copy(nginxSource, Path.Combine(mirror, "nginx-1.22.1.tar.gz"));
        Pin("nginx", "1.22.1", "nginx-1.22.1.tar.gz", "", kind: "source");

        var imagesDir = Directory.CreateDirectory(Path.Combine(directory, "images")).FullName;
        var images = TestImages.Build(Path.Combine(imagesDir, "oci"));
        lockText.Append(images.LockEntries);

        var lockFile = Path.Combine(directory, "test-lock.yaml");
        File.WriteAllText(lockFile, lockText.ToString());
        return new Result(lockFile, mirror, imagesDir, images);
    }

    /// <summary>
    /// The same test lock with sid's etcd 3.5.30 (etcd, etcdctl, etcdutl; KBUNDLE_ETCD35_DIR) in place of bookworm's 3.4.23,
    /// its archive in the same mirror: the next minor version a running site upgrades to (SPEC §8).
    /// </summary>
    public static string WithEtcd35(Result artifacts, string lockFile)
    {
        ArgumentNullException.ThrowIfNull(artifacts);
        var etcd35 = Debian("KBUNDLE_ETCD35_DIR");
        const string name = "etcd-v3.5.30-linux-amd64";
        var binaries = new[] { "etcd", "etcdctl", "etcdutl" };
        var archive = Path.Combine(artifacts.MirrorDir, name + ".tar.gz");
        TarGz(archive, binaries.Select(b => Member.File($"{name}/{b}", Path.Combine(etcd35, b))).ToList());
        var entry = $"  - name: etcd\n    version: 3.5.30\n    arch: amd64\n    url: https://upstream.invalid/{name}.tar.gz\n" +
                    $"    sha256: {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(archive)))}\n    files:\n" +
                    string.Concat(binaries.Select(b => $"      {name}/{b}: /opt/k8s/bin/{b}\n"));
        var text = File.ReadAllText(artifacts.LockFile);
        var start = text.IndexOf("  - name: etcd\n", StringComparison.Ordinal);
        var end = text.IndexOf("  - name: ", start + 1, StringComparison.Ordinal);
        Assert.True(start > 0 && end > start, "the test lock has no etcd entry to replace");
        File.WriteAllText(lockFile, text[..start] + entry + text[end..]);
        return lockFile;
    }

    private sealed record Member(string Name, byte[] Content)
    {
        public static Member File(string name, string source) => new(name, System.IO.File.ReadAllBytes(source));

        public static Member Text(string name, string text) => new(name, Encoding.UTF8.GetBytes(text));
    }

    private static void TarGz(string path, IReadOnlyList<Member> members)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax);
        foreach (var m in members)
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, m.Name)
            {
                Mode = (UnixFileMode)0b111_101_101,
                DataStream = new MemoryStream(m.Content),
            };
            tar.WriteEntry(entry);
        }
    }
}
