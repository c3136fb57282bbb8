using System.Diagnostics;
using System.Text;

namespace Bundler;

/// <summary>What a finished process left behind.</summary>
public sealed record ProcessResult(string Command, int ExitCode, string StandardOutput, string StandardError)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>The last lines of the output, for error messages that must stay readable.</summary>
    public string Tail(int lines = 20)
    {
        var all = (StandardOutput + Environment.NewLine + StandardError).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return string.Join(Environment.NewLine, all.TakeLast(lines));
    }
}

/// <summary>
/// The one place that starts processes (STYLE §12), so every external command can be audited or faked.
/// Arguments are passed as a list (never through a shell), output is captured, cancellation kills the tree.
/// </summary>
public static class ProcessRunner
{
    /// <summary>The full path of an executable on PATH, or null.</summary>
    public static string? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Contains('/'))
            return File.Exists(name) ? name : null;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    /// <summary>Runs a program to its end and returns what it printed; cancellation kills it (and its children).</summary>
    public static async Task<ProcessResult> RunAsync(
        string fileName, IEnumerable<string> arguments, string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null, CancellationToken cancellationToken = default)
    {
        using var process = Start(fileName, arguments, workingDirectory, environment);
        return await process.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Starts a program that keeps running (a server, a build to interrupt); stdin is closed, output is captured.</summary>
    public static RunningProcess Start(
        string fileName, IEnumerable<string> arguments, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        ArgumentNullException.ThrowIfNull(arguments);
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Directory.GetCurrentDirectory(),
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            start.Environment[key] = value;
        return new RunningProcess(start);
    }
}

/// <summary>A started program: wait for it, read what it printed so far (a server's log), or kill it with everything it started.</summary>
public sealed class RunningProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Task _pumps;

    internal RunningProcess(ProcessStartInfo start)
    {
        Command = string.Join(' ', new[] { start.FileName }.Concat(start.ArgumentList));
        _process = new Process { StartInfo = start };
        _process.Start();
        _process.StandardInput.Close();
        _pumps = Task.WhenAll(PumpAsync(_process.StandardOutput, _stdout), PumpAsync(_process.StandardError, _stderr));
    }

    public string Command { get; }

    /// <summary>The operating system's process id (what a lock file or a log names).</summary>
    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything it printed until now, standard output then standard error.</summary>
    public string OutputSoFar
    {
        get
        {
            lock (_stdout)
                lock (_stderr)
                    return _stdout.ToString() + _stderr;
        }
    }

    /// <summary>SIGKILL to the program and every process it started: no cleanup runs in them.</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It had exited already.
        }
    }

    /// <summary>Waits for the end; cancellation kills the program first.</summary>
    public async Task<ProcessResult> WaitAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill();
            throw;
        }
        await _pumps.ConfigureAwait(false);
        lock (_stdout)
            lock (_stderr)
                return new ProcessResult(Command, _process.ExitCode, _stdout.ToString(), _stderr.ToString());
    }

    public void Dispose()
    {
        if (!_process.HasExited)
            Kill();
        _process.Dispose();
    }

    private static async Task PumpAsync(StreamReader reader, StringBuilder into)
    {
        var buffer = new char[8192];
        int read;
        while ((read = await reader.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            lock (into)
                into.Append(buffer, 0, read);
        }
    }
}
