using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Bundler.Tests.Fetch.Images;

/// <summary>
/// Runs when Debian's docker-registry and skopeo and busybox-static are installed (or under CI=true, where
/// their absence fails the test instead of skipping it).
/// </summary>
public sealed class RegistryFactAttribute : FactAttribute
{
    public RegistryFactAttribute()
    {
        var missing = LocalRegistry.MissingTools();
        if (missing.Count > 0 && Environment.GetEnvironmentVariable("CI") != "true")
            Skip = $"SKIPPED: needs {string.Join(", ", missing)} (apt-get install docker-registry skopeo busybox-static)";
    }
}

/// <summary>
/// A real OCI distribution registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1:&lt;free port&gt;
/// with filesystem storage in a temp folder and no auth; images are pushed with skopeo, as a user would.
/// </summary>
public sealed class LocalRegistry : IAsyncDisposable
{
    public const string Binary = "/usr/bin/docker-registry";
    private readonly RunningProcess _process;

    private LocalRegistry(RunningProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }
    public string Host => $"127.0.0.1:{Port}";
    public string Url => $"http://{Host}";

    public string Log => _process.OutputSoFar;

    public static IReadOnlyList<string> MissingTools() =>
        new[] { (Binary, "docker-registry"), ("/usr/bin/skopeo", "skopeo"), (OciTestLayout.Busybox, "busybox-static") }
            .Where(t => !File.Exists(t.Item1)).Select(t => t.Item2).ToList();

    public static async Task<LocalRegistry> StartAsync(string root)
    {
        var missing = MissingTools();
        Assert.True(missing.Count == 0, $"missing: {string.Join(", ", missing)} (apt-get install docker-registry skopeo busybox-static)");
        var port = FreePort();
        var config = Path.Combine(root, "registry.yml");
        Directory.CreateDirectory(Path.Combine(root, "storage"));
        File.WriteAllText(config, $"""
            version: 0.1
            log: {"{"}level: warn{"}"}
            storage:
              filesystem: {"{"}rootdirectory: {Path.Combine(root, "storage")}{"}"}
            http:
              addr: 127.0.0.1:{port}
            """);
        var registry = new LocalRegistry(ProcessRunner.Start(Binary, ["serve", config]), port);
        using var http = new HttpClient();
        for (var attempt = 0; ; attempt++)
        {
            Assert.False(registry._process.HasExited, "docker-registry exited: " + registry.Log);
            try
            {
                using var response = await http.GetAsync($"{registry.Url}/v2/");
                if (response.StatusCode == HttpStatusCode.OK)
                    return registry;
            }
            catch (HttpRequestException) when (attempt < 100)
            {
            }
            await Task.Delay(100);
        }
    }

    /// <summary><c>skopeo copy --all</c> from <paramref name="source"/> (e.g. oci:DIR:v1) to this registry.</summary>
    public async Task PushAsync(string source, string repository, string tag, bool dockerMediaTypes = false)
    {
        var arguments = new List<string> { "copy", "--all", "--dest-tls-verify=false", "--quiet" };
        arguments.AddRange(dockerMediaTypes ? ["--format", "v2s2"] : ["--preserve-digests"]);
        arguments.AddRange([source, $"docker://{Host}/{repository}:{tag}"]);
        var result = await Skopeo(arguments);
        Assert.True(result.Succeeded, result.Tail() + Log);
    }

    /// <summary>The digest of what the registry serves for a tag, read with skopeo (independently of kbundle).</summary>
    public async Task<string> DigestAsync(string repository, string tag)
    {
        var result = await Skopeo(["inspect", "--raw", "--tls-verify=false", $"docker://{Host}/{repository}:{tag}"]);
        Assert.True(result.Succeeded, result.Tail());
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(result.StandardOutput)));
    }

    public static Task<ProcessResult> Skopeo(IEnumerable<string> arguments) =>
        ProcessRunner.RunAsync("/usr/bin/skopeo", ["--insecure-policy", .. arguments]);

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        _process.Kill();
        await _process.WaitAsync();
        _process.Dispose();
    }
}
