using Bundler.Pipeline;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Bundler.Cli;

/// <summary>
/// Build progress: on a terminal, one line per task that fits its width (80 columns included): downloads with a bar and
/// the bytes, everything else (a compile, key generation, compression) with a spinner; every task with its elapsed time.
/// One plain line per event under CI or when output is redirected.
/// </summary>
public sealed class ConsoleReporter(CliOutput output) : IBuildReporter
{
    private readonly Lock _gate = new();
    private ProgressContext? _live;

    /// <summary>What the bar or spinner, the amount and the elapsed time take of a line; the description gets the rest.</summary>
    private const int FixedColumns = 41;

    /// <summary>Runs <paramref name="body"/> inside a live progress display when the output is interactive.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!output.Interactive)
            return await body().ConfigureAwait(false);
        T result = default!;
        await output.Console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new BarOrSpinnerColumn(), new TaskDescriptionColumn { Alignment = Justify.Left }, new AmountColumn(), new ElapsedTimeColumn())
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
        ArgumentNullException.ThrowIfNull(result);
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
                var room = Math.Max(16, output.Console.Profile.Width - FixedColumns);
                var task = ctx.AddTask(Markup.Escape(Fit(description, room)), maxValue: totalBytes ?? 1);
                if (totalBytes is null)
                    task.IsIndeterminate = true;
                else
                    task.State.Update<bool>(Bytes, _ => true);
                return new LiveItem(task, description, room);
            }
        }
        return new PlainItem(this, description, totalBytes);
    }

    /// <summary>The task state key that marks a task counting bytes (a download): it gets a bar and an amount.</summary>
    private const string Bytes = "kbundle.bytes";

    /// <summary>A description cut to <paramref name="room"/> columns: it starts with what the task is (name, version, arch).</summary>
    internal static string Fit(string text, int room) => text.Length <= room ? text : text[..(room - 1)].TrimEnd() + "…";

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

    /// <summary>A bar for downloads, a spinner (a tick when done) for everything else.</summary>
    private sealed class BarOrSpinnerColumn : ProgressColumn
    {
        private readonly ProgressBarColumn _bar = new() { Width = 10 };
        private readonly SpinnerColumn _spinner = new() { CompletedText = "✓" };

        protected override bool NoWrap => true;

        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            task.State.Get<bool>(Bytes) ? _bar.Render(options, task, deltaTime) : _spinner.Render(options, task, deltaTime);

        public override int? GetColumnWidth(RenderOptions options) => 10;
    }

    /// <summary>Bytes done of the total, for downloads only.</summary>
    private sealed class AmountColumn : ProgressColumn
    {
        protected override bool NoWrap => true;

        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            task.State.Get<bool>(Bytes)
                ? new Text($"{Sizes.Human((long)task.Value)}/{Sizes.Human((long)task.MaxValue)}", new Style(Color.Grey))
                : Text.Empty;

        public override int? GetColumnWidth(RenderOptions options) => 19;
    }

    private sealed class LiveItem(ProgressTask task, string description, int room) : IProgressItem
    {
        public void SetTotal(long totalBytes)
        {
            task.IsIndeterminate = false;
            task.MaxValue = Math.Max(1, totalBytes);
            task.State.Update<bool>(Bytes, _ => true);
        }

        public void Advance(long bytes) => task.Increment(bytes);

        public void Complete(string? detail = null)
        {
            // The detail goes first (it is what the user looks for), the description gets what room is left.
            if (detail is not null && !task.State.Get<bool>(Bytes))
            {
                var said = Fit($"({detail})", room * 2 / 3);
                task.Description = $"{Markup.Escape(Fit(description, Math.Max(8, room - said.Length - 1)))} [grey]{Markup.Escape(said)}[/]";
            }
            task.IsIndeterminate = false;
            task.Value = task.MaxValue;
            task.StopTask();
        }

        public void Dispose() => task.StopTask();
    }

    /// <summary>Plain mode prints when work ends: downloads with size and rate, everything else with how long it took.</summary>
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
            var seconds = _clock.Elapsed.TotalSeconds;
            if (_done > 0)
                owner.Info($"   {description}: {Sizes.Human(_done)} in {seconds:0.0}s ({Sizes.Human((long)(_done / Math.Max(seconds, 0.001)))}/s){(detail is null ? "" : $" {detail}")}");
            else if (total is null)
                owner.Info($"   {description}: done in {seconds:0.0}s{(detail is null ? "" : $" ({detail})")}");
            else
                owner.Info($"   {description}:{(detail is null ? "" : $" {detail}")}");
        }

        public void Dispose()
        {
            if (!_completed)
                owner.Info($"   {description}: stopped after {Sizes.Human(_done)}{(total is null ? "" : $" of {Sizes.Human(total.Value)}")}");
        }
    }
}
