using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Bundler.Configuration;
using Bundler.Layout;
using Bundler.Nginx;
using Bundler.Tests.Cli;

namespace Bundler.Tests.MixedArch;

/// <summary>
/// The arm64 bundles run where they are made for, as far as this amd64 machine can show it: under qemu-aarch64-static
/// (no binfmt_misc here, so only what the test starts through the emulator is emulated). bookworm's arm64 bash-static
/// runs the arm64 worker's header; the commands that header starts (tar, gzip, sha256sum, tail, head, stat, tee, mkdir)
/// are this machine's amd64 ones on PATH. The bundle's arm64 kube-nginx, etcd and etcdctl run emulated themselves (the
/// Debian etcd is dynamically linked: <c>-L</c> the arm64 C library of libc6-arm64-cross).
/// </summary>
[Collection(MixedArchCollection.Name)]
public sealed partial class Arm64EmulationTests(MixedArchWorld world)
{
    private static Dictionary<string, string> Env(string tmp) => new() { ["TMPDIR"] = tmp };

    [MixedArchFact]
    public async Task GivenTheArm64WorkersBundle_WhenItsHeaderRunsUnderArm64BashInQemu_ThenCheckVerifiesItAndExtractUnpacksWhatTheHostUnpacks()
    {
        var (_, mixed, _) = await world.GetAsync();
        var run = mixed.Run("w1");
        var work = world.Scratch("qemu");
        var machine = await ProcessRunner.RunAsync(MixedArchWorld.Qemu, [MixedArchWorld.Arm64Bash, "-c", "echo $HOSTTYPE"]);
        Assert.Equal("aarch64", machine.StandardOutput.Trim());

        var check = await ProcessRunner.RunAsync(MixedArchWorld.Qemu, [MixedArchWorld.Arm64Bash, run, "--check"], work, Env(work));
        var info = await ProcessRunner.RunAsync(MixedArchWorld.Qemu, [MixedArchWorld.Arm64Bash, run, "--info"], work, Env(work));
        var extracted = Path.Combine(work, "extracted");
        var extract = await ProcessRunner.RunAsync(MixedArchWorld.Qemu, [MixedArchWorld.Arm64Bash, run, "--extract", extracted], work, Env(work));

        Assert.True(check.Succeeded, check.Tail());
        Assert.Contains("w1.run: header and payload verified", check.StandardOutput, StringComparison.Ordinal);
        var listed = File.ReadAllLines(Path.Combine(mixed.Out, "SHA256SUMS")).Single(l => l.EndsWith("  w1.run", StringComparison.Ordinal));
        Assert.Contains(listed, check.StandardOutput.Split('\n'));
        Assert.True(info.Succeeded, info.Tail());
        Assert.Contains("arch:           arm64", info.StandardOutput, StringComparison.Ordinal);
        Assert.True(extract.Succeeded, extract.Tail());
        Assert.Contains($"kbundle: unpacked into {extracted}", extract.StandardOutput, StringComparison.Ordinal);
        var host = world.Extracted(run);
        Assert.Equal(Listing(host), Listing(extracted));
        foreach (var file in Listing(host).Where(f => File.Exists(Path.Combine(host, f))))
            Assert.True(File.ReadAllBytes(Path.Combine(host, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(extracted, file))), $"{file} differs");
        Assert.Equal(Arch.Arm64, MixedArchWorld.ElfArch(Path.Combine(extracted, "opt/k8s/bin/kubelet")));

        // One byte of the payload changed: the emulated header refuses it (exit 4, integrity).
        var tampered = Path.Combine(work, "w1-tampered.run");
        var bytes = File.ReadAllBytes(run);
        bytes[^100] ^= 0x01;
        File.WriteAllBytes(tampered, bytes);
        var refused = await ProcessRunner.RunAsync(MixedArchWorld.Qemu, [MixedArchWorld.Arm64Bash, tampered, "--check"], work, Env(work));
        Assert.True(refused.ExitCode == 4, refused.Tail());
        Assert.Contains("payload sha256 is", refused.StandardError, StringComparison.Ordinal);
    }

    [MixedArchFact]
    public async Task GivenTheArm64WorkersKubeNginx_WhenRunUnderQemu_ThenItReportsWithStreamAndAcceptsTheNodesRenderedConfig()
    {
        var (_, mixed, _) = await world.GetAsync();
        var tree = world.Extracted(mixed.Run("w1"));
        var nginx = Path.Combine(tree, NodePaths.Bin(NginxBuilder.BinaryName).TrimStart('/'));
        var prefix = world.Scratch("nginx");
        Directory.CreateDirectory(Path.Combine(prefix, "logs"));
        var rendered = File.ReadAllText(Path.Combine(tree, NodePaths.NginxConf.TrimStart('/')));
        // On the node systemd creates /run/kube-nginx (RuntimeDirectory=); here the pid file goes under the prefix.
        Assert.Contains("pid /run/kube-nginx/kube-nginx.pid;", rendered);
        var conf = Path.Combine(prefix, "nginx.conf");
        File.WriteAllText(conf, rendered.Replace("pid /run/kube-nginx/kube-nginx.pid;", $"pid {prefix}/kube-nginx.pid;", StringComparison.Ordinal));

        var version = await ProcessRunner.RunAsync(MixedArchWorld.Qemu, [nginx, "-V"]);
        var test = await ProcessRunner.RunAsync(MixedArchWorld.Qemu, [nginx, "-t", "-c", conf, "-p", prefix]);

        Assert.Equal((Arch.Arm64, true), (ElfFile.Read(nginx).Arch!.Value, ElfFile.Read(nginx).IsStatic));
        Assert.True(version.Succeeded, version.Tail());
        Assert.Contains("nginx version: nginx/1.22.1", version.StandardError, StringComparison.Ordinal);
        Assert.Contains("--with-stream", version.StandardError, StringComparison.Ordinal);
        Assert.True(test.Succeeded, test.Tail());
        Assert.Contains("syntax is ok", test.StandardError, StringComparison.Ordinal);
        Assert.Contains("test is successful", test.StandardError, StringComparison.Ordinal);
        // The config is the worker's own: its upstreams are the three masters.
        Assert.Equal(3, rendered.Split('\n').Count(l => l.TrimStart().StartsWith("server 10.77.0.1", StringComparison.Ordinal)));
    }

    [MixedArchFact]
    public async Task GivenAnArm64EtcdMember_WhenBuilt_ThenItsBundleCarriesDebiansArm64EtcdWhichServesUnderQemuWithTheBundlesCertificates()
    {
        var (_, _, edge) = await world.GetAsync();
        var inspect = CliRunner.Run("inspect", edge.Run("e1"), "--json");
        Assert.True(inspect.ExitCode == 0, inspect.All);
        using var view = JsonDocument.Parse(inspect.Out);
        var etcdComponent = view.RootElement[0].GetProperty("components").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "etcd");
        Assert.Equal(("arm64", MixedArchLock.EtcdVersion, $"https://upstream.invalid/etcd-v{MixedArchLock.EtcdVersion}-linux-arm64.tar.gz"),
            (etcdComponent.GetProperty("arch").GetString(), etcdComponent.GetProperty("version").GetString(), etcdComponent.GetProperty("url").GetString()));
        var tree = world.Extracted(edge.Run("e1"));
        string Bin(string name) => Path.Combine(tree, NodePaths.Bin(name).TrimStart('/'));
        string Pki(string name) => Path.Combine(tree, NodePaths.EtcdPkiDir.TrimStart('/'), name);
        Assert.True(File.ReadAllBytes(Bin("etcd")).AsSpan().SequenceEqual(File.ReadAllBytes(MixedArchLock.Arm64Etcd)), "e1's etcd is Debian's arm64 etcd");
        Assert.True(File.ReadAllBytes(Bin("etcdctl")).AsSpan().SequenceEqual(File.ReadAllBytes(MixedArchLock.Arm64Etcdctl)), "e1's etcdctl is Debian's arm64 etcdctl");
        Assert.Equal((Arch.Arm64, Arch.Arm64), (MixedArchWorld.ElfArch(Bin("etcd")), MixedArchWorld.ElfArch(Bin("etcdctl"))));

        // The member on loopback (the node's IP is not on this machine), with the bundle's own server, peer and CA files.
        var (client, peer) = (FreePort(), FreePort());
        var data = world.Scratch("etcd");
        var env = new Dictionary<string, string> { ["ETCD_UNSUPPORTED_ARCH"] = "arm64", ["ETCDCTL_API"] = "3" };
        using var etcd = ProcessRunner.Start(MixedArchWorld.Qemu,
        [
            "-L", MixedArchWorld.Arm64Sysroot, Bin("etcd"), "--name=e1", $"--data-dir={data}/member",
            $"--listen-client-urls=https://127.0.0.1:{client}", $"--advertise-client-urls=https://127.0.0.1:{client}",
            $"--listen-peer-urls=https://127.0.0.1:{peer}", $"--initial-advertise-peer-urls=https://127.0.0.1:{peer}",
            $"--initial-cluster=e1=https://127.0.0.1:{peer}", "--initial-cluster-state=new",
            $"--cert-file={Pki("server.crt")}", $"--key-file={Pki("server.key")}", "--client-cert-auth=true", $"--trusted-ca-file={Pki("ca.crt")}",
            $"--peer-cert-file={Pki("peer.crt")}", $"--peer-key-file={Pki("peer.key")}", "--peer-client-cert-auth=true", $"--peer-trusted-ca-file={Pki("ca.crt")}",
        ], data, env);
        string[] Etcdctl(params string[] args) =>
        [
            "-L", MixedArchWorld.Arm64Sysroot, Bin("etcdctl"), $"--endpoints=https://127.0.0.1:{client}",
            $"--cacert={Pki("ca.crt")}", $"--cert={Pki("healthcheck-client.crt")}", $"--key={Pki("healthcheck-client.key")}", .. args,
        ];

        ProcessResult? health = null;
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline && !etcd.HasExited)
        {
            health = await ProcessRunner.RunAsync(MixedArchWorld.Qemu, Etcdctl("endpoint", "health"), data, env);
            if (health.Succeeded)
                break;
            await Task.Delay(500);
        }
        var put = await ProcessRunner.RunAsync(MixedArchWorld.Qemu, Etcdctl("put", "/kbundle/arch", "arm64"), data, env);
        var get = await ProcessRunner.RunAsync(MixedArchWorld.Qemu, Etcdctl("get", "/kbundle/arch", "--print-value-only"), data, env);
        var version = await ProcessRunner.RunAsync(MixedArchWorld.Qemu, ["-L", MixedArchWorld.Arm64Sysroot, Bin("etcd"), "--version"], data, env);
        etcd.Kill();
        var log = await etcd.WaitAsync();

        Assert.True(health is { Succeeded: true }, $"etcdctl endpoint health: {health?.Tail()}\netcd: {log.Tail(30)}");
        Assert.Contains("is healthy", health!.StandardOutput + health.StandardError, StringComparison.Ordinal);
        Assert.True(put.Succeeded, put.Tail());
        Assert.Equal("arm64", get.StandardOutput.Trim());
        Assert.Contains($"etcd Version: {MixedArchLock.EtcdVersion}", version.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("OS/Arch: linux/arm64", version.StandardOutput, StringComparison.Ordinal);
    }

    [MixedArchFact(containerd: true)]
    public async Task GivenTheArm64WorkersImageArchive_WhenItsOwnImportScriptFeedsARealContainerd_ThenEveryNameHasItsPinnedDigestOnlyArm64ContentAndTheLayerRunsUnderQemu()
    {
        var (mixedLock, mixed, _) = await world.GetAsync();
        var tree = world.Extracted(mixed.Run("w1"));
        var work = world.Scratch("containerd");
        await using var containerd = await Packaging.ContainerdImportTests.Containerd.StartAsync(work);
        // The node's own import script (Debian's containerd 1.6 here); only the ctr it calls (the bundle's is an arm64
        // stand-in) and where the archive is point at this machine.
        var script = File.ReadAllText(Path.Combine(tree, NodePaths.ImportScript.TrimStart('/')));
        Assert.Contains("platform='linux/arm64'", script, StringComparison.Ordinal);
        var archive = Path.Combine(tree, NodePaths.ImageArchive(Arch.Arm64).TrimStart('/'));
        var local = ArchiveLine().Replace(CtrLine().Replace(script, $"ctr=(/usr/bin/ctr --address '{containerd.Socket}' --namespace k8s.io)", 1), $"archive='{archive}'", 1);
        Assert.Contains($"archive='{archive}'", local, StringComparison.Ordinal);
        Assert.DoesNotContain("/opt/k8s/bin'/ctr", local, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(work, "import.sh"), local);

        var import = await ProcessRunner.RunAsync("bash", [Path.Combine(work, "import.sh")], work);
        var again = await ProcessRunner.RunAsync("bash", [Path.Combine(work, "import.sh")], work);

        Assert.True(import.Succeeded, import.Tail() + containerd.Log);
        Assert.Contains($"kbundle-images: importing {archive} (linux/arm64)", import.StandardOutput, StringComparison.Ordinal);
        Assert.True(again.Succeeded, again.Tail());
        Assert.Contains("nothing imported", again.StandardOutput, StringComparison.Ordinal);
        var list = await containerd.Ctr("images", "ls");
        var rows = list.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToDictionary(r => r[0], r => r[2]);
        var expected = mixedLock.Images.SelectMany(i => new[] { $"{i.Name}:v1", $"{i.Name}@{i.Layout.Index}" }.Select(name => ($"registry.stand-in.invalid/{name}", i.Layout.Index)));
        Assert.Equal(expected.ToDictionary(e => e.Item1, e => e.Item2), rows);
        var content = (await containerd.Ctr("content", "ls", "--quiet")).StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var (_, layout) in mixedLock.Images)
        {
            Assert.Contains(layout.Platforms[Arch.Arm64].Layer, content);
            Assert.DoesNotContain(layout.Platforms[Arch.Amd64].Manifest, content);
            Assert.DoesNotContain(layout.Platforms[Arch.Amd64].Layer, content);
        }

        var root = Directory.CreateDirectory(Path.Combine(work, "rootfs")).FullName;
        var mount = await containerd.Ctr("images", "mount", "--platform", "linux/arm64", "registry.stand-in.invalid/pause:v1", root);
        try
        {
            Assert.True(mount.Succeeded, mount.Tail() + containerd.Log);
            var program = Path.Combine(root, "bin", "busybox");
            var ran = await ProcessRunner.RunAsync(MixedArchWorld.Qemu, [program]);
            Assert.Equal(Arch.Arm64, MixedArchWorld.ElfArch(program));
            Assert.True(ran.Succeeded, ran.Tail());
            Assert.Equal("TEST STAND-IN busybox (arm64): not the real binary", ran.StandardOutput.Trim());
        }
        finally
        {
            await containerd.Ctr("images", "unmount", root);
        }
    }

    [GeneratedRegex("^ctr=\\(.*\\)$", RegexOptions.Multiline)]
    private static partial Regex CtrLine();

    [GeneratedRegex("^archive=.*$", RegexOptions.Multiline)]
    private static partial Regex ArchiveLine();

    private static List<string> Listing(string dir) =>
        Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(dir, p)).Order(StringComparer.Ordinal).ToList();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
