using Bundler.Pipeline;
using Spectre.Console;

namespace Bundler.Cli;

/// <summary>
/// Build progress: Spectre progress bars (bytes, rate) on a terminal; one plain line per event under CI or
/// when output is redirected.
/// </summary>
public sealed class ConsoleReporter(CliOutput output) : IBuildReporter
{
    private readonly Lock _gate = new();
    private ProgressContext? _live;

    /// <summary>Runs <paramref name="body"/> inside a live progress display when the output is interactive.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!output.Interactive)
            return await body().ConfigureAwait(false);
        T result = default!;
        await output.Console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                new DownloadedColumn(), new TransferSpeedColumn(), new ElapsedTimeColumn())
            .StartAsync(async ctx =>
            {
                _live = ctx;
                try { result = await body().ConfigureAwait(false); }
                finally { _live = null; }
            }).ConfigureAwait(false);
        return result;
    }

    public void Info(string message) => Line(Markup.Escape(message), message);

    public void Warning(string message) => Line($"[yellow]warning:[/] {Markup.Escape(message)}", "warning: " + message);

    public void StepStarted(StepName step) => Line($"[bold]==> {Steps.Name(step)}[/]", $"==> {Steps.Name(step)}");

    public void StepFinished(StepResult result)
    {
        var text = $"<== {Steps.Name(result.Step)}: {result.Status.ToString().ToLowerInvariant()} in {result.Duration.TotalSeconds:0.0}s";
        if (result.Status == StepStatus.Failed)
            Line($"[red]{Markup.Escape(text)}[/]", text);
        else
            Line(Markup.Escape(text), text);
    }

    public IProgressItem Begin(string description, long? totalBytes = null)
    {
        lock (_gate)
        {
            if (_live is { } ctx)
            {
                var task = ctx.AddTask(Markup.Escape(description), maxValue: totalBytes ?? 1);
                if (totalBytes is null)
                    task.IsIndeterminate = true;
                return new LiveItem(task);
            }
        }
        return new PlainItem(this, description, totalBytes);
    }

    private void Line(string markup, string plain)
    {
        lock (_gate)
        {
            if (output.Interactive)
                output.Console.MarkupLine(markup);
            else
                output.Out.WriteLine(plain);
        }
    }

    private sealed class LiveItem(ProgressTask task) : IProgressItem
    {
        public void SetTotal(long totalBytes)
        {
            task.IsIndeterminate = false;
            task.MaxValue = Math.Max(1, totalBytes);
        }

        public void Advance(long bytes) => task.Increment(bytes);

        public void Complete(string? detail = null)
        {
            if (detail is not null)
                task.Description = $"{task.Description} [grey]({Markup.Escape(detail)})[/]";
            task.IsIndeterminate = false;
            task.Value = task.MaxValue;
            task.StopTask();
        }

        public void Dispose() => task.StopTask();
    }

    /// <summary>Plain mode prints when work starts and ends, with size and rate; no per-chunk noise.</summary>
    private sealed class PlainItem(ConsoleReporter owner, string description, long? total) : IProgressItem
    {
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
        private long _done;
        private bool _completed;

        public void SetTotal(long totalBytes) => total = totalBytes;

        public void Advance(long bytes) => Interlocked.Add(ref _done, bytes);

        public void Complete(string? detail = null)
        {
            _completed = true;
            var size = _done > 0 ? $" {Bytes(_done)} in {_clock.Elapsed.TotalSeconds:0.0}s ({Bytes((long)(_done / Math.Max(_clock.Elapsed.TotalSeconds, 0.001)))}/s)" : "";
            owner.Info($"   {description}:{size}{(detail is null ? "" : $" {detail}")}");
        }

        public void Dispose()
        {
            if (!_completed)
                owner.Info($"   {description}: stopped after {Bytes(_done)}{(total is null ? "" : $" of {Bytes(total.Value)}")}");
        }

        private static string Bytes(long n) => n switch
        {
            >= 1 << 30 => $"{n / (double)(1 << 30):0.0} GiB",
            >= 1 << 20 => $"{n / (double)(1 << 20):0.0} MiB",
            >= 1 << 10 => $"{n / 1024.0:0.0} KiB",
            _ => $"{n} B",
        };
    }
}
