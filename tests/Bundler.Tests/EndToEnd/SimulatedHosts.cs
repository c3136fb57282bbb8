using System.Net;
using System.Net.Sockets;

namespace Bundler.Tests.EndToEnd;

/// <summary>
/// N simulated hosts on this machine (harness/hosts.sh): each a network + mount + UTS namespace with its own
/// address on a bridge in a namespace of its own. Commands run unmodified inside a host.
/// </summary>
internal sealed class SimulatedHosts : IDisposable
{
    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "EndToEnd", "harness", "hosts.sh");

    public SimulatedHosts(string baseDir, IReadOnlyDictionary<string, string> addresses)
    {
        BaseDir = baseDir;
        var result = Shell.Run("bash", [Script, "up", baseDir, .. addresses.Select(a => $"{a.Key}={a.Value}/24")]);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"hosts.sh up failed: {result.Output}");
    }

    public string BaseDir { get; }

    /// <summary>Whether this machine can host simulated hosts (root, ip netns, unshare/nsenter).</summary>
    public static string? WhyNotSupported()
    {
        if (!OperatingSystem.IsLinux())
            return "not Linux";
        if (Environment.UserName != "root")
            return $"not root (running as {Environment.UserName})";
        foreach (var tool in new[] { "ip", "unshare", "nsenter", "setsid" })
            if (Shell.Run("sh", ["-c", $"command -v {tool}"]).ExitCode != 0)
                return $"'{tool}' is missing";
        var probe = $"kbe-probe-{Environment.ProcessId}";
        var add = Shell.Run("ip", ["netns", "add", probe]);
        Shell.Run("ip", ["netns", "del", probe]);
        return add.ExitCode == 0 ? null : $"ip netns does not work here: {add.Output}";
    }

    public Shell.Result Exec(string host, params string[] command) => Shell.Run("bash", [Script, "exec", BaseDir, host, .. command]);

    public Shell.Result Exec(string host, TimeSpan timeout, params string[] command) =>
        Shell.Run("bash", [Script, "exec", BaseDir, host, .. command], timeout);

    /// <summary>Path of a file of a host as the root namespace sees it (the host's overlay upper layer).</summary>
    public string UpperPath(string host, string absolutePath)
    {
        var trimmed = absolutePath.TrimStart('/');
        foreach (var overlay in new[] { "var/lib", "var/log", "usr/local", "etc", "opt", "root" })
            if (trimmed == overlay || trimmed.StartsWith(overlay + "/", StringComparison.Ordinal))
                return Path.Combine(BaseDir, host, "upper", overlay.Replace('/', '_'), Path.GetRelativePath(overlay, trimmed));
        throw new ArgumentException($"{absolutePath} is not on an overlay of the simulated host");
    }

    public void Dispose() => Shell.Run("bash", [Script, "down", BaseDir]);
}

/// <summary>The end-to-end tests' commands, through the library's process runner, with a time limit.</summary>
internal static class Shell
{
    public sealed record Result(int ExitCode, string Output);

    public static Result Run(string file, IEnumerable<string> arguments, TimeSpan? timeout = null, string? workingDirectory = null,
        IDictionary<string, string>? environment = null)
    {
        using var process = ProcessRunner.Start(file, arguments, workingDirectory ?? Environment.CurrentDirectory,
            environment?.ToDictionary(e => e.Key, e => e.Value));
        using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(10));
        try
        {
            var result = process.WaitAsync(limit.Token).GetAwaiter().GetResult();
            return new Result(result.ExitCode, result.StandardOutput + result.StandardError);
        }
        catch (OperationCanceledException)
        {
            // Killed with everything it started; what it printed until then still tells what hung.
            var killed = process.WaitAsync().GetAwaiter().GetResult();
            return new Result(-1, killed.StandardOutput + killed.StandardError + $"[timed out after {timeout}]\n");
        }
    }
}

/// <summary>A static file server on 127.0.0.1 for the mirror folder (what a release engineer's mirror would be).</summary>
internal sealed class LoopbackFileServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly string _root;

    public LoopbackFileServer(string root)
    {
        _root = root;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _ = Task.Run(ServeAsync);
    }

    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}/";
    public List<string> Requests { get; } = [];

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
            var name = Path.GetFileName(context.Request.Url!.AbsolutePath);
            lock (Requests) Requests.Add(name);
            var path = Path.Combine(_root, name);
            if (name.Length == 0 || !File.Exists(path))
            {
                context.Response.StatusCode = 404;
                context.Response.Close();
                continue;
            }
            context.Response.ContentLength64 = new FileInfo(path).Length;
            await using (var file = File.OpenRead(path))
                await file.CopyToAsync(context.Response.OutputStream);
            context.Response.Close();
        }
    }

    public void Dispose() => _listener.Close();
}
