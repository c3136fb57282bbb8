using Bundler.Pipeline;

namespace Bundler.Tests.Pipeline;

public sealed class PipelineRunnerTests
{
    /// <summary>Six steps in pipeline order; the pki step runs <paramref name="pki"/>. Records which steps ran.</summary>
    private static async Task<(BuildReport Report, List<StepName> Ran)> RunSteps(StepName? until = null, Func<string>? pki = null)
    {
        var ran = new List<StepName>();
        var run = new PipelineRunner(new RecordingReporter(), until);
        foreach (var step in Enum.GetValues<StepName>())
        {
            await run.StepAsync(step, _ =>
            {
                ran.Add(step);
                return Task.FromResult(step == StepName.Pki && pki is not null ? pki() : Steps.Name(step));
            });
        }
        return (run.Report(new BuildOutputs(null, null, null, null, null, null)), ran);
    }

    [Fact]
    public void GivenTheStepNames_ThenTheyAreTheSpecOrderAndParseFromTheCommandLine()
    {
        Assert.Equal(["fetch", "nginx", "pki", "render", "package", "sign"], Enum.GetValues<StepName>().Select(Steps.Name));
        Assert.True(Steps.TryParse("Render", out var step));
        Assert.Equal(StepName.Render, step);
        Assert.False(Steps.TryParse("3", out _));
    }

    [Fact]
    public async Task GivenUntilPki_WhenRun_ThenLaterStepsAreSkippedAndTheBuildSucceeds()
    {
        var (report, ran) = await RunSteps(until: StepName.Pki);

        Assert.Equal(0, report.ExitCode);
        Assert.Equal([StepName.Fetch, StepName.Nginx, StepName.Pki], ran);
        Assert.Equal([StepStatus.Succeeded, StepStatus.Succeeded, StepStatus.Succeeded, StepStatus.Skipped, StepStatus.Skipped, StepStatus.Skipped],
            report.Steps.Select(s => s.Status));
        Assert.Equal("--until pki", report.Steps[3].Detail);
    }

    [Theory]
    [InlineData(typeof(UserInputException), ExitCodes.UsageError)]
    [InlineData(typeof(IntegrityException), ExitCodes.IntegrityError)]
    [InlineData(typeof(InvalidOperationException), ExitCodes.Failure)]
    public async Task GivenAFailingStep_WhenRun_ThenLaterStepsDoNotRunAndTheExitCodeNamesTheFailure(Type exception, int exitCode)
    {
        var (report, ran) = await RunSteps(pki: () => throw (Exception)Activator.CreateInstance(exception, "broken")!);

        Assert.Equal(exitCode, report.ExitCode);
        Assert.Equal(StepStatus.Failed, report.Steps[2].Status);
        Assert.Equal("broken", report.Steps[2].Detail);
        Assert.All(report.Steps.Skip(3), s => Assert.Equal(StepStatus.NotRun, s.Status));
        Assert.DoesNotContain(StepName.Render, ran);
    }

    [Fact]
    public async Task GivenAStep_WhenItRuns_ThenItsOutputIsWhatTheNextStepIsHanded()
    {
        var run = new PipelineRunner(new RecordingReporter());

        var fetched = await run.StepAsync(StepName.Fetch, _ => Task.FromResult(new Uri("https://example.invalid/")));
        var host = await run.StepAsync(StepName.Nginx, _ => Task.FromResult(fetched!.Host));

        Assert.Equal("example.invalid", host);
        Assert.Equal([StepStatus.Succeeded, StepStatus.Succeeded], run.Report(new BuildOutputs(null, null, null, null, null, null)).Steps.Select(s => s.Status));
    }
}

public sealed class BuilderTests
{
    [Fact]
    public async Task GivenAnEmptyCacheOffline_WhenBuilt_ThenTheReportListsEveryStepInOrderFetchFailedAndTheExitCodeIs2()
    {
        using var world = new Fetch.FetchWorld();
        var lockPath = world.WriteLock(Fetch.FetchWorld.EtcdLockEntry("https://example.invalid/etcd.tar.gz", new string('a', 64)));

        var report = await Builder.RunAsync(world.Inputs(lockPath, offline: true), new RecordingReporter());

        Assert.Equal(Enum.GetValues<StepName>(), report.Steps.Select(s => s.Step));
        Assert.Equal([StepStatus.Failed, StepStatus.NotRun, StepStatus.NotRun, StepStatus.NotRun, StepStatus.NotRun, StepStatus.NotRun],
            report.Steps.Select(s => s.Status));
        Assert.Equal(ExitCodes.UsageError, report.ExitCode);
        Assert.Null(report.Outputs.Fetch);
    }
}
