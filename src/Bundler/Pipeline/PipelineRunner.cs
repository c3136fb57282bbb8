using System.Diagnostics;

namespace Bundler.Pipeline;

public enum StepStatus { Succeeded, Failed, Skipped, NotRun }

public sealed record StepResult(StepName Step, StepStatus Status, TimeSpan Duration, string? Detail = null);

/// <summary>What a build did, step by step, the exit code it maps to, and what each step handed on.</summary>
public sealed record BuildReport(IReadOnlyList<StepResult> Steps, int ExitCode, Exception? Error)
{
    public TimeSpan Total => Steps.Aggregate(TimeSpan.Zero, (sum, s) => sum + s.Duration);

    public BuildOutputs Outputs { get; init; } = new(null, null, null, null, null, null);

    /// <summary>What the build was asked for (its folders); null for a report made without a build.</summary>
    public BuildInputs? Inputs { get; init; }
}

/// <summary>
/// Runs the steps <see cref="Builder.RunAsync"/> lists, one after another: times each, stops after
/// <see cref="BuildOptions.Until"/>, and turns the first failure into an exit code (<see cref="ExitCodes.For"/>).
/// A step after a failure or past --until is not started and hands on null.
/// </summary>
public sealed class PipelineRunner(IBuildReporter reporter, StepName? until = null)
{
    private readonly List<StepResult> _results = [];
    private Exception? _error;
    private bool _stopped;

    public async Task<T?> StepAsync<T>(StepName step, Func<CancellationToken, Task<T>> run, CancellationToken cancellationToken = default)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(run);
        if (_error is not null)
        {
            _results.Add(new StepResult(step, StepStatus.NotRun, TimeSpan.Zero, "an earlier step failed"));
            return null;
        }
        if (_stopped)
        {
            _results.Add(new StepResult(step, StepStatus.Skipped, TimeSpan.Zero, $"--until {Steps.Name(until!.Value)}"));
            return null;
        }

        reporter.StepStarted(step);
        var clock = Stopwatch.StartNew();
        T? output = null;
        try
        {
            output = await run(cancellationToken).ConfigureAwait(false);
            _results.Add(new StepResult(step, StepStatus.Succeeded, clock.Elapsed));
        }
        catch (Exception e)
        {
            _error = e;
            _results.Add(new StepResult(step, StepStatus.Failed, clock.Elapsed, e.Message));
        }
        reporter.StepFinished(_results[^1]);
        _stopped = until == step;
        return output;
    }

    public BuildReport Report(BuildOutputs outputs) =>
        new(_results.ToList(), _error is null ? ExitCodes.Success : ExitCodes.For(_error), _error) { Outputs = outputs };
}
