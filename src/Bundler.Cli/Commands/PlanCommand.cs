using System.CommandLine;
using System.Text.Json;
using Bundler.Layout;
using Bundler.Packaging;
using Bundler.Pipeline;
using Bundler.Rollout;

namespace Bundler.Cli;

/// <summary>
/// <c>kbundle plan SITE [--against DIR] [--batch N] [--json]</c> (SPEC §8): what a build would change on the site that
/// runs the build in DIR (default: the output folder), per node, and the rollout order with its commands. Refuses a
/// change that cannot roll out safely (exit 2, naming why). Writes neither the state nor the output folder.
/// </summary>
public static class PlanCommand
{
    public sealed record Options(BuildOptions Build, string? Against, int Batch);

    private static readonly BuildInputOptions Inputs = new();
    private static readonly Option<string?> AgainstOption = new("--against")
    {
        Description = "Folder of the build that runs on the site now [default: --out]", HelpName = "DIR",
    };
    private static readonly Option<int> BatchOption = new("--batch")
    {
        Description = "Workers per batch in the rollout", HelpName = "N", DefaultValueFactory = _ => RolloutOrder.DefaultBatch,
    };

    public static Command Create(CliOutput output)
    {
        var command = Inputs.AddTo(new Command("plan", "What a build would change on the running site, per node, and the order to roll it out in; writes nothing"),
            AgainstOption, BatchOption);
        command.SetAction((parse, ct) => RunAsync(Bind(parse), output, ct));
        return command;
    }

    public static Options Bind(ParseResult parse) => new(Inputs.Bind(parse), parse.GetValue(AgainstOption), parse.GetValue(BatchOption));

    /// <summary>Exit 0 with the plan; 2 when the change cannot roll out (or bad input); with --json one JSON document either way.</summary>
    public static async Task<int> RunAsync(Options options, CliOutput output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        var json = options.Build.Json;
        var reporter = new ConsoleReporter(json ? new CliOutput(output.Error, output.Error, interactive: false) : output);
        SitePlan plan;
        try
        {
            plan = await reporter.RunAsync(async () =>
            {
                var inputs = Builder.LoadInputs(options.Build);
                foreach (var warning in inputs.Warnings)
                    reporter.Warning(warning.ToString().Replace("warning: ", "", StringComparison.Ordinal));
                var against = Path.GetFullPath(options.Against ?? inputs.OutDir);
                var manifest = Path.Combine(against, BundleLayout.ManifestFile);
                if (options.Against is not null && !File.Exists(manifest))
                    throw new UserInputException($"--against {options.Against}: no {BundleLayout.ManifestFile} there: not a build folder (the running build's bundles and manifest)");
                inputs = inputs with { Previous = BundleManifest.ReadIfPresent(manifest) };
                return await Planner.PlanAsync(inputs, against, options.Batch, reporter, cancellationToken).ConfigureAwait(false);
            }).ConfigureAwait(false);
        }
        catch (Exception e) when (json && ExitCodes.IsExpected(e))
        {
            output.Out.WriteLine(JsonSerializer.Serialize(new
            {
                exitCode = ExitCodes.For(e),
                error = ExitCodes.Message(e),
            }, JsonOut.Options));
            output.Error.WriteLine($"error: {ExitCodes.Message(e)}");
            return ExitCodes.For(e);
        }
        if (json)
            output.Out.WriteLine(JsonSerializer.Serialize(new { exitCode = ExitCodes.Success, plan = plan.ToJson() }, JsonOut.Options));
        else
            output.Out.Write(plan.Render());
        return ExitCodes.Success;
    }
}
