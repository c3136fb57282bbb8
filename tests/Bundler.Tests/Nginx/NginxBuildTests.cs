using Bundler.Cli;
using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Nginx;
using Bundler.Pipeline;
using Bundler.Tests.Fetch;
using Xunit;

namespace Bundler.Tests.Nginx;

/// <summary>
/// Runs only with the real nginx source (KBUNDLE_NGINX_TEST_SOURCE, which .ci/run sets). Under CI=true a missing
/// source is a failure, not a skip; elsewhere the test is skipped with a message saying how to run it.
/// </summary>
public sealed class NginxSourceFactAttribute : FactAttribute
{
    public const string Variable = "KBUNDLE_NGINX_TEST_SOURCE";

    public NginxSourceFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable)) && Environment.GetEnvironmentVariable("CI") != "true")
            Skip = $"SKIPPED: the real kube-nginx build needs {Variable}=<path of nginx_1.22.1.orig.tar.gz>; run .ci/run (it downloads it) or export it";
    }
}

/// <summary>The real nginx source and the arm64 cross toolchain; skipped (outside CI) when either is missing.</summary>
public sealed class CrossNginxBuildFactAttribute : FactAttribute
{
    public CrossNginxBuildFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("CI") == "true")
            return;
        Skip = new NginxSourceFactAttribute().Skip ?? new CrossToolchainFactAttribute().Skip;
    }
}

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class NginxBuildTests : IDisposable
{
    private readonly FetchWorld _world = new();

    public void Dispose() => _world.Dispose();

    [NginxSourceFact]
    public async Task GivenThePinnedNginxSourceInAMirrorFolder_WhenBuildingOffline_ThenKubeNginxIsStaticHasStreamAndARebuildIsACacheHit()
    {
        var source = Environment.GetEnvironmentVariable(NginxSourceFactAttribute.Variable);
        Assert.False(string.IsNullOrEmpty(source), $"{NginxSourceFactAttribute.Variable} must be set in CI (.ci/run sets it)");
        Assert.True(File.Exists(source), $"{NginxSourceFactAttribute.Variable}={source}: file not found");

        // A folder carried in by hand: the nginx source under its upstream file name, and the node's binaries.
        var mirror = Path.Combine(_world.Root, "carried-in");
        Directory.CreateDirectory(mirror);
        File.Copy(source, Path.Combine(mirror, "nginx-1.22.1.tar.gz"));
        var binaries = FetchWorld.EtcdArchive();
        File.WriteAllBytes(Path.Combine(mirror, "release.tar.gz"), binaries);
        var lockText = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "Fetch", "nginx-1.22.1.lock.yaml")) +
                       FetchWorld.EtcdLockEntry("https://example.invalid/release.tar.gz", FetchWorld.Sha256(binaries)) + _world.NodeImagesSection();
        var lockPath = Path.Combine(_world.Root, "lock.yaml");
        File.WriteAllText(lockPath, lockText);
        var site = _world.WriteSite();
        var cache = Path.Combine(_world.Root, "cache");
        var line = $"build {site} --pins {lockPath} --mirror {mirror} --offline --cache {cache} --until nginx";

        var first = await Build(line);

        Assert.Null(first.Report.Error);
        var kubeNginx = first.Nginx.BinaryFor(Arch.Amd64);
        Assert.Equal("kube-nginx", Path.GetFileName(kubeNginx));
        Assert.True(ElfFile.Read(kubeNginx).IsStatic, "kube-nginx must have no PT_INTERP");
        var ldd = await ProcessRunner.RunAsync("ldd", [kubeNginx]);
        Assert.Contains("not a dynamic executable", ldd.StandardOutput + ldd.StandardError);

        var version = await ProcessRunner.RunAsync(kubeNginx, ["-V"]);
        Assert.Contains("nginx/1.22.1", version.StandardError);
        Assert.Contains("--with-stream", version.StandardError);
        Assert.Contains("--without-http ", version.StandardError);

        var prefix = Path.Combine(_world.Root, "prefix");
        Directory.CreateDirectory(Path.Combine(prefix, "logs"));
        var conf = Path.Combine(prefix, "nginx.conf");
        File.WriteAllText(conf, """
            worker_processes 1;
            error_log stderr notice;
            events { worker_connections 64; }
            stream {
                upstream apiservers {
                    hash $remote_addr consistent;
                    server 192.168.93.11:6443 max_fails=3 fail_timeout=30s;
                    server 192.168.93.12:6443 max_fails=3 fail_timeout=30s;
                }
                server {
                    listen 127.0.0.1:8443;
                    proxy_connect_timeout 1s;
                    proxy_pass apiservers;
                }
            }
            """);
        var test = await ProcessRunner.RunAsync(kubeNginx, ["-t", "-c", conf, "-p", prefix]);
        Assert.True(test.Succeeded, test.Tail());
        Assert.Contains("syntax is ok", test.StandardError);

        // Every node's rendered nginx.conf of the example site is accepted by the nginx the pipeline built.
        using (var render = new Render.RenderFixture())
        {
            foreach (var (node, text) in global::Bundler.Render.RenderStep.NginxConfigs(render.Result))
            {
                var rendered = Path.Combine(prefix, $"{node}.conf");
                // On a node systemd creates /run/kube-nginx (RuntimeDirectory=); here the pid file goes under the prefix.
                File.WriteAllText(rendered, text.Replace("pid /run/kube-nginx/kube-nginx.pid;", $"pid {prefix}/{node}.pid;", StringComparison.Ordinal));
                var check = await ProcessRunner.RunAsync(kubeNginx, ["-t", "-c", rendered, "-p", prefix]);
                Assert.True(check.Succeeded, $"{node}: {check.Tail()}");
                Assert.Contains("syntax is ok", check.StandardError);
            }
        }

        var provenance = first.Nginx.For(Arch.Amd64).Provenance;
        Assert.Equal(("1.22.1", "9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31"), (provenance.Version, provenance.SourceSha256));
        Assert.Contains("--with-ld-opt=-static", provenance.ConfigureArguments);
        var cc = await ProcessRunner.RunAsync(ProcessRunner.Find("cc") ?? "gcc", ["--version"]);
        Assert.Equal(cc.StandardOutput.Split('\n')[0].Trim(), provenance.Compiler);
        Assert.Equal(FetchWorld.Sha256(File.ReadAllBytes(kubeNginx)), provenance.BinarySha256);
        Assert.Equal(("x86_64-linux-gnu", null), (provenance.Target, provenance.Emulator));
        Assert.Contains(first.Lines, l => l.StartsWith("kube-nginx amd64: built", StringComparison.Ordinal));

        var second = await Build(line);

        Assert.Null(second.Report.Error);
        Assert.Contains(second.Lines, l => l.StartsWith("kube-nginx amd64: cache hit", StringComparison.Ordinal));
        Assert.Equal(kubeNginx, second.Nginx.BinaryFor(Arch.Amd64));
        Assert.Equal(provenance.BinarySha256, second.Nginx.For(Arch.Amd64).Provenance.BinarySha256);
    }

    [CrossNginxBuildFact]
    public async Task GivenASiteWithAmd64AndArm64Nodes_WhenBuilding_ThenEachArchGetsItsOwnStaticKubeNginxAndAWarmRebuildCompilesNothing()
    {
        var source = Environment.GetEnvironmentVariable(NginxSourceFactAttribute.Variable);
        Assert.False(string.IsNullOrEmpty(source), $"{NginxSourceFactAttribute.Variable} must be set in CI (.ci/run sets it)");
        var mirror = Path.Combine(_world.Root, "carried-in");
        Directory.CreateDirectory(mirror);
        File.Copy(source, Path.Combine(mirror, "nginx-1.22.1.tar.gz"));
        var binaries = FetchWorld.EtcdArchive();
        File.WriteAllBytes(Path.Combine(mirror, "release.tar.gz"), binaries);
        // One archive of stand-in node binaries serves both arches: this test is about kube-nginx.
        var lockText = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "Fetch", "nginx-1.22.1.lock.yaml")) +
                       FetchWorld.EtcdLockEntry("https://example.invalid/release.tar.gz", FetchWorld.Sha256(binaries)).Replace("arch: amd64", "arch: any", StringComparison.Ordinal) +
                       _world.NodeImagesSection();
        var lockPath = Path.Combine(_world.Root, "lock.yaml");
        File.WriteAllText(lockPath, lockText);
        var site = Path.Combine(_world.Root, "site.yaml");
        File.WriteAllText(site, """
            name: mixed
            kubernetes: 1.36.0
            arch: amd64
            network:
              serviceCidr: 10.254.0.0/16
              podCidr: 172.30.0.0/16
            nodes:
              - name: n1
                ip: 192.168.93.11
                roles: [etcd, master]
              - name: n2
                ip: 192.168.93.12
                roles: [master]
                arch: arm64
            """);
        var cache = Path.Combine(_world.Root, "cache");
        var line = $"build {site} --pins {lockPath} --mirror {mirror} --offline --cache {cache} --until nginx";

        var first = await Build(line);

        Assert.Contains(first.Lines, l => l.StartsWith("done: kube-nginx 1.22.1 amd64: configure and compile", StringComparison.Ordinal));
        Assert.Contains(first.Lines, l => l.StartsWith("done: kube-nginx 1.22.1 arm64: configure and compile", StringComparison.Ordinal));
        var (amd64, arm64) = (first.Nginx.For(Arch.Amd64), first.Nginx.For(Arch.Arm64));
        var armElf = ElfFile.Read(arm64.Binary);
        Assert.Equal(((ushort)0xB7, false), (armElf.Machine, armElf.HasInterpreter));
        var amdElf = ElfFile.Read(amd64.Binary);
        Assert.Equal((Arch.Amd64, true), (amdElf.Arch!.Value, amdElf.IsStatic));
        Assert.NotEqual(Path.GetDirectoryName(amd64.Binary), Path.GetDirectoryName(arm64.Binary));

        var qemu = CrossTarget.For(Arch.Arm64).EmulatorNames.Select(ProcessRunner.Find).First(p => p is not null)!;
        var version = await ProcessRunner.RunAsync(qemu, [arm64.Binary, "-V"]);
        Assert.True(version.Succeeded, version.Tail());
        Assert.Contains("nginx/1.22.1", version.StandardError);
        Assert.Contains("--with-stream", version.StandardError);

        // k8s-01's rendered nginx.conf (the golden file the render tests pin); on a node systemd creates /run/kube-nginx.
        var prefix = Path.Combine(_world.Root, "prefix");
        Directory.CreateDirectory(Path.Combine(prefix, "logs"));
        var conf = Path.Combine(prefix, "nginx.conf");
        var rendered = File.ReadAllText(Path.Combine(Render.RenderFixture.ExpectationsDir, "k8s-01", "etc", "kube-nginx", "nginx.conf"));
        Assert.Contains("pid /run/kube-nginx/kube-nginx.pid;", rendered);
        File.WriteAllText(conf, rendered.Replace("pid /run/kube-nginx/kube-nginx.pid;", $"pid {prefix}/kube-nginx.pid;", StringComparison.Ordinal));
        var check = await ProcessRunner.RunAsync(qemu, [arm64.Binary, "-t", "-c", conf, "-p", prefix]);
        Assert.True(check.Succeeded, check.Tail());
        Assert.Contains("syntax is ok", check.StandardError);
        Assert.Contains("test is successful", check.StandardError);

        var armCc = await ProcessRunner.RunAsync("aarch64-linux-gnu-gcc", ["--version"]);
        var p = arm64.Provenance;
        Assert.Equal((Arch.Arm64, "aarch64-linux-gnu", armCc.StandardOutput.Split('\n')[0].Trim()), (p.Arch, p.Target, p.Compiler));
        Assert.StartsWith("qemu-aarch64 version ", p.Emulator, StringComparison.Ordinal);
        Assert.Equal(NginxToolchain.ShimScripts.Select(s => new ConfigureShim(s.Key, FetchWorld.Sha256(s.Value))), p.ConfigureShims);
        Assert.Equal(FetchWorld.Sha256(File.ReadAllBytes(arm64.Binary)), p.BinarySha256);
        Assert.Equal(("x86_64-linux-gnu", null, 0), (amd64.Provenance.Target, amd64.Provenance.Emulator, amd64.Provenance.ConfigureShims.Count));

        // The manifest's record: one entry per arch, in arch order.
        var entries = first.Nginx.Provenances;
        Assert.Equal([Arch.Amd64, Arch.Arm64], entries.Select(e => e.Arch));
        Assert.Equal((p.Compiler, p.Target, p.Emulator, p.BinarySha256), (entries[1].Compiler, entries[1].Target, entries[1].Emulator, entries[1].BinarySha256));
        var json = System.Text.Json.JsonSerializer.Serialize(entries, global::Bundler.Packaging.BundleManifest.Json);
        Assert.Contains("\"target\": \"aarch64-linux-gnu\"", json);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(json, "\"emulator\":"));
        var built = (File.GetLastWriteTimeUtc(amd64.Binary), File.GetLastWriteTimeUtc(arm64.Binary));

        var second = await Build(line);

        Assert.Contains(second.Lines, l => l.StartsWith("kube-nginx amd64: cache hit", StringComparison.Ordinal));
        Assert.Contains(second.Lines, l => l.StartsWith("kube-nginx arm64: cache hit", StringComparison.Ordinal));
        Assert.DoesNotContain(second.Lines, l => l.Contains("configure and compile", StringComparison.Ordinal));
        Assert.Equal((amd64.Binary, arm64.Binary), (second.Nginx.BinaryFor(Arch.Amd64), second.Nginx.BinaryFor(Arch.Arm64)));
        Assert.Equal(built, (File.GetLastWriteTimeUtc(amd64.Binary), File.GetLastWriteTimeUtc(arm64.Binary)));
        var again = second.Nginx.For(Arch.Arm64).Provenance;
        Assert.Equal((p.Compiler, p.Target, p.Emulator, p.BinarySha256), (again.Compiler, again.Target, again.Emulator, again.BinarySha256));
    }

    private static async Task<(BuildReport Report, NginxResult Nginx, IReadOnlyList<string> Lines)> Build(string commandLine)
    {
        using var output = new StringWriter();
        var options = BuildCommand.Bind(global::Bundler.Cli.Cli.BuildRoot(new CliOutput(output, output, interactive: false)).Parse(commandLine));
        var reporter = new RecordingReporter();
        var report = await Builder.RunAsync(Builder.LoadInputs(options), reporter);
        Assert.True(report.Error is null, report.Error?.ToString());
        return (report, report.Outputs.Nginx!, reporter.Lines);
    }
}
