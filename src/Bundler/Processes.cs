using System.Diagnostics;

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

/// <summary>A started program: wait for it (its output comes whole at the end) or kill it with everything it started.</summary>
public sealed class RunningProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stdout;
    private readonly Task<string> _stderr;

    internal RunningProcess(ProcessStartInfo start)
    {
        Command = string.Join(' ', new[] { start.FileName }.Concat(start.ArgumentList));
        _process = new Process { StartInfo = start };
        _process.Start();
        _process.StandardInput.Close();
        _stdout = _process.StandardOutput.ReadToEndAsync();
        _stderr = _process.StandardError.ReadToEndAsync();
    }

    public string Command { get; }

    public bool HasExited => _process.HasExited;

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
        return new ProcessResult(Command, _process.ExitCode, await _stdout.ConfigureAwait(false), await _stderr.ConfigureAwait(false));
    }

    public void Dispose()
    {
        if (!_process.HasExited)
            Kill();
        _process.Dispose();
    }
}
