using System.Diagnostics;
using Bundler.Configuration;
using Bundler.Fetch.Images;
using Bundler.Packaging;
using Bundler.Pipeline;
using Bundler.Tests.Fetch;
using Bundler.Tests.Fetch.Images;

namespace Bundler.Tests.Packaging;

/// <summary>
/// Runs as root with Debian's containerd (ctr, runc) and busybox-static installed; under CI=true their absence
/// fails the test instead of skipping it.
/// </summary>
public sealed class ContainerdFactAttribute : FactAttribute
{
    public ContainerdFactAttribute()
    {
        var missing = new[] { "/usr/bin/containerd", "/usr/bin/ctr", OciTestLayout.Busybox }.Where(p => !File.Exists(p)).ToList();
        if (Environment.UserName != "root")
            missing.Add("root");
        if (missing.Count > 0 && Environment.GetEnvironmentVariable("CI") != "true")
            Skip = $"SKIPPED: importing into a real containerd needs {string.Join(", ", missing)} (apt-get install containerd runc busybox-static; run as root)";
    }
}

/// <summary>
/// The archive as a node uses it: a real containerd (temp root, state and socket) imports images-amd64.tar with
/// <c>ctr -n k8s.io images import --platform linux/amd64</c>, names the image both ways at the pinned digest,
/// and runs the busybox binary from the copied layer.
/// </summary>
public sealed class ContainerdImportTests : IDisposable
{
    private readonly TempDir _temp = new("kbundle-ctr");

    public void Dispose() => _temp.Dispose();

    [ContainerdFact]
    public async Task GivenImagesAmd64Tar_WhenCtrImportsItForLinuxAmd64_ThenBothNamesResolveToThePinnedIndexAndTheLayerRuns()
    {
        // Given: the two-platform image, fetched from a carried-in layout, written as the amd64 archive.
        var layout = OciTestLayout.Build(_temp.File("mirror", "oci"));
        var pin = new LockImage("busybox", ImageReference.TryParse("registry.example.org/test/busybox:v1", out _)!, layout.Index, Location.None);
        using var fetcher = new ImageFetcher(new BlobCache(_temp.File("cache")), [_temp.File("mirror")], [], offline: true, RegistryWorld.Settings, new RecordingReporter());
        var images = await fetcher.FetchAsync([new ImageRequest(pin, [Arch.Amd64, Arch.Arm64])], CancellationToken.None);
        var archive = _temp.File(ImageArchiveWriter.FileName(Arch.Amd64));
        await AtomicFile.WriteAsync(archive, (stream, ct) => ImageArchiveWriter.WriteAsync(stream, images, Arch.Amd64, cancellationToken: ct));
        await using var containerd = await Containerd.StartAsync(_temp.Path);

        // When
        var import = await containerd.Ctr("images", "import", "--platform", "linux/amd64", "--snapshotter", "native", archive);

        // Then
        Assert.True(import.Succeeded, import.Tail() + containerd.Log);
        var list = await containerd.Ctr("images", "ls");
        Assert.True(list.Succeeded, list.Tail());
        var rows = list.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.Equal(
            [("registry.example.org/test/busybox:v1", layout.Index), ($"registry.example.org/test/busybox@{layout.Index}", layout.Index)],
            rows.Select(r => (r[0], r[2])).OrderBy(r => r.Item1.Contains('@', StringComparison.Ordinal)));
        var run = await containerd.Ctr("run", "--rm", "--snapshotter", "native", $"registry.example.org/test/busybox@{layout.Index}", "kbundle-import-test",
            "/bin/busybox", "echo", "hello from the imported layer");
        Assert.True(run.Succeeded, run.Tail() + containerd.Log);
        Assert.Contains("hello from the imported layer", run.StandardOutput);
    }

    /// <summary>containerd with its own root, state and socket under a temp folder (the CRI plugin off: not needed here).</summary>
    internal sealed class Containerd : IAsyncDisposable
    {
        private readonly RunningProcess _process;

        private Containerd(RunningProcess process, string socket)
        {
            _process = process;
            Socket = socket;
        }

        public string Socket { get; }

        public string Log => _process.OutputSoFar;

        public static async Task<Containerd> StartAsync(string root)
        {
            var socket = Path.Combine(root, "containerd.sock");
            var config = Path.Combine(root, "containerd.toml");
            File.WriteAllText(config, $"""
                version = 2
                root = "{Path.Combine(root, "root")}"
                state = "{Path.Combine(root, "state")}"
                disabled_plugins = ["io.containerd.grpc.v1.cri"]
                [grpc]
                  address = "{socket}"
                """);
            var containerd = new Containerd(ProcessRunner.Start("/usr/bin/containerd", ["--config", config]), socket);
            for (var attempt = 0; attempt < 100; attempt++)
            {
                Assert.False(containerd._process.HasExited, "containerd exited: " + containerd.Log);
                if (File.Exists(socket) && (await containerd.Ctr("version")).Succeeded)
                    return containerd;
                await Task.Delay(100);
            }
            throw new TimeoutException("containerd did not answer: " + containerd.Log);
        }

        public Task<ProcessResult> Ctr(params string[] arguments) =>
            ProcessRunner.RunAsync("/usr/bin/ctr", ["--address", Socket, "--namespace", "k8s.io", .. arguments]);

        public async ValueTask DisposeAsync()
        {
            _process.Kill();
            await _process.WaitAsync();
            _process.Dispose();
        }
    }
}
