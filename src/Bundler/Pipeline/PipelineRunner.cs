using System.Diagnostics;

namespace Bundler.Pipeline;

public enum StepStatus { Succeeded, Failed, Skipped, NotRun }

public sealed record StepResult(StepName Step, StepStatus Status, TimeSpan Duration, string? Detail = null);

/// <summary>What a build did, step by step, and the exit code it maps to.</summary>
public sealed record BuildReport(IReadOnlyList<StepResult> Steps, int ExitCode, Exception? Error)
{
    public TimeSpan Total => Steps.Aggregate(TimeSpan.Zero, (sum, s) => sum + s.Duration);
}

/// <summary>
/// Runs the steps in order, stops after <see cref="BuildOptions.Until"/>, times each one and turns the first
/// failure into an exit code: user mistakes 2, integrity failures 4, anything else 1.
/// </summary>
public sealed class PipelineRunner
{
    public async Task<BuildReport> RunAsync(BuildContext context, IReadOnlyList<IStep> steps, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(steps);
        var results = new List<StepResult>();
        Exception? error = null;
        var exitCode = ExitCodes.Success;
        var stopped = false;

        foreach (var step in steps)
        {
            if (error is not null)
            {
                results.Add(new StepResult(step.Name, StepStatus.NotRun, TimeSpan.Zero, "an earlier step failed"));
                continue;
            }
            if (stopped)
            {
                results.Add(new StepResult(step.Name, StepStatus.Skipped, TimeSpan.Zero, $"--until {Steps.Name(context.Options.Until!.Value)}"));
                continue;
            }

            context.Reporter.StepStarted(step);
            var clock = Stopwatch.StartNew();
            try
            {
                await step.RunAsync(context, cancellationToken).ConfigureAwait(false);
                results.Add(new StepResult(step.Name, StepStatus.Succeeded, clock.Elapsed));
            }
            catch (Exception e)
            {
                error = e;
                exitCode = ExitCodeFor(e);
                results.Add(new StepResult(step.Name, StepStatus.Failed, clock.Elapsed, e.Message));
            }
            context.Reporter.StepFinished(results[^1]);
            stopped = context.Options.Until == step.Name;
        }
        return new BuildReport(results, exitCode, error);
    }

    public static int ExitCodeFor(Exception e) => e switch
    {
        UserInputException => ExitCodes.UsageError,
        IntegrityException => ExitCodes.IntegrityError,
        AggregateException { InnerExceptions.Count: 1 } a => ExitCodeFor(a.InnerExceptions[0]),
        _ => ExitCodes.Failure,
    };
}
