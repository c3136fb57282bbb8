using System.CommandLine;
using System.Text.Json;
using Bundler.Audit;
using Bundler.Fetch;
using Bundler.Layout;
using Bundler.Pipeline;
using Bundler.Rollout;
using Spectre.Console;

namespace Bundler.Cli;

/// <summary><c>kbundle build SITE [options]</c> (SPEC §6): runs the pipeline and prints a step summary.</summary>
public static class BuildCommand
{
    private static readonly BuildInputOptions Inputs = new();
    private static readonly Option<string?> UntilOption = new("--until") { Description = "Stop after this step", HelpName = "STEP" };
    private static readonly Option<bool> NewClusterOption = new("--new-cluster")
    {
        Description = "Make a new CA even though the output folder holds bundles signed by another key (a new cluster over them)",
    };

    static BuildCommand()
    {
        UntilOption.AcceptOnlyFromAmong(Enum.GetValues<StepName>().Select(Steps.Name).ToArray());
    }

    public static Command Create(CliOutput output)
    {
        var command = Inputs.AddTo(new Command("build", "Build one signed bundle per node: fetch, nginx, pki, render, package, sign"), UntilOption, NewClusterOption);
        command.SetAction((parse, ct) => RunAsync(Bind(parse), output, ct));
        return command;
    }

    public static BuildOptions Bind(ParseResult parse)
    {
        var until = parse.GetValue(UntilOption);
        return Inputs.Bind(parse) with
        {
            Until = until is null ? null : Steps.TryParse(until, out var step) ? step : throw new UserInputException($"--until {until}: unknown step"),
            NewCluster = parse.GetValue(NewClusterOption),
        };
    }

    /// <summary>
    /// Runs the build. With --json, stdout gets exactly one JSON document (also for bad input) and the progress goes to
    /// stderr as plain lines.
    /// </summary>
    public static async Task<int> RunAsync(BuildOptions options, CliOutput output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        var reporter = new ConsoleReporter(options.Json ? new CliOutput(output.Error, output.Error, interactive: false) : output);
        BuildReport report;
        try
        {
            report = await reporter.RunAsync(() => Builder.BuildAsync(options, reporter, cancellationToken)).ConfigureAwait(false);
        }
        catch (Exception e) when (options.Json && ExitCodes.IsExpected(e))
        {
            output.Out.WriteLine(JsonSerializer.Serialize(new
            {
                exitCode = ExitCodes.For(e),
                error = ExitCodes.Message(e),
                errors = e is UserInputException { Diagnostics.Count: > 0 } bad ? bad.Diagnostics.Select(d => d.ToString()).ToList() : [ExitCodes.Message(e)],
            }, JsonOut.Options));
            output.Error.WriteLine($"error: {ExitCodes.Message(e)}");
            return ExitCodes.For(e);
        }
        if (options.Json)
            WriteJson(report, output);
        else
        {
            WriteSummary(report, output);
            WriteBundles(report, output);
            WriteInstallOrder(report, output);
            WritePlan(report, output);
        }
        if (report.Error is { } error)
            output.Error.WriteLine(ExitCodes.IsExpected(error) ? $"error: {ExitCodes.Message(error)}" : $"error: {error}");
        return report.ExitCode;
    }

    /// <summary>The Cake-style end-of-run table: step, duration, status.</summary>
    public static void WriteSummary(BuildReport report, CliOutput output)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);
        var table = new Table().Border(TableBorder.Simple)
            .AddColumn("Step").AddColumn(new TableColumn("Duration").RightAligned()).AddColumn("Status").AddColumn("Detail");
        foreach (var step in report.Steps)
            table.AddRow(Steps.Name(step.Step), $"{step.Duration:hh\\:mm\\:ss\\.ff}", step.Status.ToString(), Markup.Escape(Shorten(step.Detail)));
        table.AddRow("Total", $"{report.Total:hh\\:mm\\:ss\\.ff}", report.ExitCode == 0 ? "Succeeded" : $"Failed (exit {report.ExitCode})", "");
        output.Console.Write(table);
    }

    /// <summary>Where the bundles are, which changed since the previous build in that folder, and how big each is.</summary>
    public static void WriteBundles(BuildReport report, CliOutput output)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);
        if (report.Inputs is not { } inputs || report.Outputs.Package is not { } packaged)
            return;
        var bundles = BundleChanges.Of(inputs.OutDir, packaged);
        if (bundles.Count == 0)
            return;
        var changed = bundles.Count(b => b.Change != BundleChanges.Unchanged);
        var signed = report.Outputs.Sign is null ? "; NOT SIGNED (the sign step did not run)" : "";
        output.Out.WriteLine($"Bundles in {inputs.OutDir} (build serial {packaged.Manifest.BuildSerial}, built {packaged.Manifest.BuildTime}; " +
                             $"{changed} of {bundles.Count} new or changed{signed}):");
        var width = bundles.Max(b => b.File.Length);
        foreach (var b in bundles)
            output.Out.WriteLine($"  {b.File.PadRight(width)}  {Sizes.Human(b.Size),10}  {b.Change}");
        foreach (var gone in BundleChanges.Removed(packaged))
            output.Out.WriteLine($"  {gone.PadRight(width)}  {"",10}  removed");
    }

    /// <summary>
    /// For the field engineers: the order to install the bundles in, as INSTALL.txt has it (once package ran), for a first
    /// build; a later one prints its rollout (<see cref="WritePlan"/>).
    /// </summary>
    public static void WriteInstallOrder(BuildReport report, CliOutput output)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);
        if (report.Outputs.Package is { PreviousManifest: null, Manifest: { } manifest })
            output.Out.Write($"Install order ({BundleLayout.InstallFile} beside the bundles):\n{InstallOrder.RenderSteps(manifest)}");
    }

    /// <summary>
    /// A later build of a running site: what changed on each node and the rollout order with its commands, as
    /// <c>kbundle plan</c> prints it (SPEC §8), against the build this folder held before.
    /// </summary>
    public static void WritePlan(BuildReport report, CliOutput output)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);
        if (report.Inputs is not { } inputs || report.Outputs.Package is not { PreviousManifest: { } previous } packaged || report.Outputs.Render is not { } render)
            return;
        var plan = SitePlan.Of(inputs.Site, previous, packaged.Manifest, render, inputs.OutDir);
        output.Out.Write($"Day two: what changed since the previous build in this folder, and the rollout order:\n{plan.Render(showUnchanged: false)}");
    }

    private static string Shorten(string? text)
    {
        var first = (text ?? "").Split('\n')[0];
        return first.Length > 100 ? first[..97] + "..." : first;
    }

    private static void WriteJson(BuildReport report, CliOutput output)
    {
        var inputs = report.Inputs;
        var packaged = report.Outputs.Package;
        output.Out.WriteLine(JsonSerializer.Serialize(new
        {
            exitCode = report.ExitCode,
            error = report.Error is null ? null : ExitCodes.Message(report.Error),
            site = inputs?.Site.Name,
            outDir = inputs?.OutDir,
            stateDir = inputs?.StateDir,
            buildSerial = packaged?.Manifest.BuildSerial,
            buildTime = packaged?.Manifest.BuildTime,
            signed = report.Outputs.Sign is not null,
            totalSeconds = report.Total.TotalSeconds,
            steps = report.Steps.Select(s => new { step = Steps.Name(s.Step), status = s.Status.ToString(), seconds = s.Duration.TotalSeconds, detail = s.Detail }),
            bundles = inputs is null || packaged is null ? [] : BundleChanges.Of(inputs.OutDir, packaged).Select(b => new
            {
                node = b.Node, file = b.File, path = b.Path, size = b.Size, sha256 = b.Sha256, change = b.Change,
            }).ToList<object>(),
            removed = packaged is null ? [] : BundleChanges.Removed(packaged),
            plan = inputs is null || packaged?.PreviousManifest is null || report.Outputs.Render is null ? null
                : SitePlan.Of(inputs.Site, packaged.PreviousManifest, packaged.Manifest, report.Outputs.Render, inputs.OutDir).ToJson(),
        }, JsonOut.Options));
    }
}
