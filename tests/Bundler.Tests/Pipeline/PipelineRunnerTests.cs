using Bundler.Configuration;
using Bundler.Pipeline;

namespace Bundler.Tests.Pipeline;

public class PipelineRunnerTests
{
    private sealed class FakeStep(StepName name, Action<BuildContext>? action = null) : IStep
    {
        public StepName Name => name;
        public string Reads => "test";
        public string Writes => "test";
        public bool Ran { get; private set; }

        public Task RunAsync(BuildContext context, CancellationToken cancellationToken)
        {
            Ran = true;
            action?.Invoke(context);
            return Task.CompletedTask;
        }
    }

    private static BuildContext Context(StepName? until = null)
    {
        var site = SiteLoader.Load(TestPaths.ExampleSite, PinCatalog.Default()).Site;
        return new BuildContext(site, "lock.yaml", new BuildOptions { SitePath = TestPaths.ExampleSite, Until = until }, new RecordingReporter());
    }

    private static FakeStep[] AllSteps(Action<BuildContext>? pki = null) =>
        Enum.GetValues<StepName>().Select(s => new FakeStep(s, s == StepName.Pki ? pki : null)).ToArray();

    [Fact]
    public void The_pipeline_lists_the_steps_in_the_spec_order()
    {
        Assert.Equal([StepName.Fetch, StepName.Nginx, StepName.Pki, StepName.Render, StepName.Package, StepName.Sign],
            Steps.All().Select(s => s.Name));
        Assert.All(Steps.All(), s => Assert.False(string.IsNullOrWhiteSpace(s.Reads + s.Writes)));
    }

    [Fact]
    public async Task Given_until_pki_when_run_then_later_steps_are_skipped_and_the_build_succeeds()
    {
        var steps = AllSteps();

        var report = await new PipelineRunner().RunAsync(Context(StepName.Pki), steps);

        Assert.Equal(0, report.ExitCode);
        Assert.True(steps[2].Ran);
        Assert.False(steps[3].Ran);
        Assert.Equal([StepStatus.Succeeded, StepStatus.Succeeded, StepStatus.Succeeded, StepStatus.Skipped, StepStatus.Skipped, StepStatus.Skipped],
            report.Steps.Select(s => s.Status));
        Assert.Equal("--until pki", report.Steps[3].Detail);
    }

    [Theory]
    [InlineData(typeof(UserInputException), ExitCodes.UsageError)]
    [InlineData(typeof(IntegrityException), ExitCodes.IntegrityError)]
    [InlineData(typeof(InvalidOperationException), ExitCodes.Failure)]
    public async Task Given_a_failing_step_when_run_then_later_steps_do_not_run_and_the_exit_code_names_the_failure(Type exception, int exitCode)
    {
        var steps = AllSteps(_ => throw (Exception)Activator.CreateInstance(exception, "broken")!);

        var report = await new PipelineRunner().RunAsync(Context(), steps);

        Assert.Equal(exitCode, report.ExitCode);
        Assert.Equal(StepStatus.Failed, report.Steps[2].Status);
        Assert.Equal("broken", report.Steps[2].Detail);
        Assert.All(report.Steps.Skip(3), s => Assert.Equal(StepStatus.NotRun, s.Status));
        Assert.False(steps[3].Ran);
    }

    [Fact]
    public async Task A_step_output_is_handed_to_later_steps_through_the_typed_context()
    {
        var context = Context();
        string? seen = null;
        var steps = new IStep[]
        {
            new FakeStep(StepName.Fetch, c => c.Set(new Uri("https://example.invalid/"))),
            new FakeStep(StepName.Nginx, c => seen = c.Get<Uri>().Host),
        };

        await new PipelineRunner().RunAsync(context, steps);

        Assert.Equal("example.invalid", seen);
        Assert.Throws<InvalidOperationException>(() => context.Get<Version>());
    }
}
