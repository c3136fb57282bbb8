namespace Bundler.Pipeline;

/// <summary>
/// All build output goes through one reporter, so the CLI can draw progress bars on a terminal, print plain
/// lines under CI, and tests can capture everything.
/// </summary>
public interface IBuildReporter
{
    void Info(string message);

    void Warning(string message);

    void StepStarted(StepName step);

    void StepFinished(StepResult result);

    /// <summary>Starts a unit of work with an optional size in bytes (a download, a compile).</summary>
    IProgressItem Begin(string description, long? totalBytes = null);
}

public interface IProgressItem : IDisposable
{
    void SetTotal(long totalBytes);

    void Advance(long bytes);

    /// <summary>Marks the work finished; <paramref name="detail"/> is shown beside it.</summary>
    void Complete(string? detail = null);
}

/// <summary>A reporter that records lines in memory (tests, and callers that only want the report).</summary>
public sealed class RecordingReporter : IBuildReporter
{
    private readonly List<string> _lines = [];
    private readonly Lock _gate = new();

    public IReadOnlyList<string> Lines
    {
        get { lock (_gate) return _lines.ToList(); }
    }

    public void Info(string message) => Add(message);

    public void Warning(string message) => Add("warning: " + message);

    public void StepStarted(StepName step) => Add($"step {Steps.Name(step)}: started");

    public void StepFinished(StepResult result) => Add($"step {Steps.Name(result.Step)}: {result.Status}");

    public IProgressItem Begin(string description, long? totalBytes = null) => new Item(this, description);

    private void Add(string line)
    {
        lock (_gate) _lines.Add(line);
    }

    private sealed class Item(RecordingReporter owner, string description) : IProgressItem
    {
        public void SetTotal(long totalBytes) { }

        public void Advance(long bytes) { }

        public void Complete(string? detail = null) => owner.Add(detail is null ? $"done: {description}" : $"done: {description} ({detail})");

        public void Dispose() { }
    }
}
