using System.CommandLine;
using System.Text.Json;
using Bundler.Audit;
using Bundler.Fetch;
using Bundler.Layout;
using Bundler.Pipeline;
using Spectre.Console;

namespace Bundler.Cli;

/// <summary><c>kbundle build SITE [options]</c> (SPEC §6): runs the pipeline and prints a step summary.</summary>
public static class BuildCommand
{
    private static readonly Argument<string> SiteArgument = Cli.Shared.Site();
    private static readonly Option<string?> PinsOption = Cli.Shared.Pins();
    private static readonly Option<string[]> MirrorOption = new("--mirror")
    {
        Description = "Fetch artifacts from this base URL or local folder first (may be repeated)",
        HelpName = "URL|DIR",
        AllowMultipleArgumentsPerToken = false,
    };
    private static readonly Option<string[]> RegistryMirrorOption = new("--registry-mirror")
    {
        Description = "Pull images of REGISTRY from this mirror first, e.g. registry.k8s.io=https://mirror.example.org (may be repeated)",
        HelpName = "REGISTRY=URL",
        AllowMultipleArgumentsPerToken = false,
    };
    private static readonly Option<string?> CacheOption = new("--cache") { Description = "Download cache [default: ~/.cache/kbundle]", HelpName = "DIR" };
    private static readonly Option<string?> StateOption = Cli.Shared.State();
    private static readonly Option<string?> OutOption = new("--out") { Description = "Output folder [default: artifacts/<site>]", HelpName = "DIR" };
    private static readonly Option<bool> OfflineOption = new("--offline") { Description = "Use the cache (and --mirror folders) only; name every missing artifact" };
    private static readonly Option<string?> UntilOption = new("--until") { Description = "Stop after this step", HelpName = "STEP" };
    private static readonly Option<string?> TemplatesOption = new("--templates") { Description = "Folder of templates that replace files of bundle-templates/", HelpName = "DIR" };
    private static readonly Option<bool> RenewOption = new("--renew") { Description = "Re-issue every leaf certificate (CAs are kept)" };
    private static readonly Option<bool> JsonOption = Cli.Shared.Json();

    static BuildCommand()
    {
        UntilOption.AcceptOnlyFromAmong(Enum.GetValues<StepName>().Select(Steps.Name).ToArray());
    }

    public static Command Create(CliOutput output)
    {
        var command = new Command("build", "Build one signed bundle per node: fetch, nginx, pki, render, package, sign")
        {
            SiteArgument, PinsOption, MirrorOption, RegistryMirrorOption, CacheOption, StateOption, OutOption, OfflineOption, UntilOption,
            TemplatesOption, RenewOption, JsonOption,
        };
        command.SetAction((parse, ct) => RunAsync(Bind(parse), output, ct));
        return command;
    }

    public static BuildOptions Bind(ParseResult parse)
    {
        var until = parse.GetValue(UntilOption);
        return new BuildOptions
        {
            SitePath = parse.GetValue(SiteArgument)!,
            PinsFile = parse.GetValue(PinsOption),
            Mirrors = parse.GetValue(MirrorOption) ?? [],
            RegistryMirrors = (parse.GetValue(RegistryMirrorOption) ?? []).Select(Fetch.Images.RegistryMirror.Parse).ToList(),
            CacheDir = parse.GetValue(CacheOption),
            StateDir = parse.GetValue(StateOption),
            OutDir = parse.GetValue(OutOption),
            Offline = parse.GetValue(OfflineOption),
            Until = until is null ? null : Steps.TryParse(until, out var step) ? step : throw new UserInputException($"--until {until}: unknown step"),
            TemplatesDir = parse.GetValue(TemplatesOption),
            Renew = parse.GetValue(RenewOption),
            Json = parse.GetValue(JsonOption),
        };
    }

    public static async Task<int> RunAsync(BuildOptions options, CliOutput output, CancellationToken cancellationToken)
    {
        var reporter = new ConsoleReporter(output);
        var report = await reporter.RunAsync(() => Builder.BuildAsync(options, reporter, cancellationToken)).ConfigureAwait(false);
        if (options.Json)
            WriteJson(report, output);
        else
        {
            WriteSummary(report, output);
            WriteInstallOrder(report, output);
        }
        if (report.Error is { } error)
            output.Error.WriteLine(ExitCodes.IsExpected(error) ? $"error: {error.Message}" : $"error: {error}");
        return report.ExitCode;
    }

    /// <summary>The Cake-style end-of-run table: step, duration, status.</summary>
    public static void WriteSummary(BuildReport report, CliOutput output)
    {
        var table = new Table().Border(TableBorder.Simple)
            .AddColumn("Step").AddColumn(new TableColumn("Duration").RightAligned()).AddColumn("Status").AddColumn("Detail");
        foreach (var step in report.Steps)
            table.AddRow(Steps.Name(step.Step), $"{step.Duration:hh\\:mm\\:ss\\.ff}", step.Status.ToString(), Markup.Escape(Shorten(step.Detail)));
        table.AddRow("Total", $"{report.Total:hh\\:mm\\:ss\\.ff}", report.ExitCode == 0 ? "Succeeded" : $"Failed (exit {report.ExitCode})", "");
        output.Console.Write(table);
    }

    /// <summary>For the field engineers: the order to install the bundles in, as INSTALL.txt has it (once package ran).</summary>
    public static void WriteInstallOrder(BuildReport report, CliOutput output)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (report.Outputs.Package?.Manifest is { } manifest)
            output.Out.Write($"Install order ({BundleLayout.InstallFile} beside the bundles):\n{InstallOrder.RenderSteps(manifest)}");
    }

    private static string Shorten(string? text)
    {
        var first = (text ?? "").Split('\n')[0];
        return first.Length > 100 ? first[..97] + "..." : first;
    }

    private static void WriteJson(BuildReport report, CliOutput output) =>
        output.Out.WriteLine(JsonSerializer.Serialize(new
        {
            exitCode = report.ExitCode,
            totalSeconds = report.Total.TotalSeconds,
            error = report.Error?.Message,
            steps = report.Steps.Select(s => new { step = Steps.Name(s.Step), status = s.Status.ToString(), seconds = s.Duration.TotalSeconds, detail = s.Detail }),
        }, JsonOut.Options));
}
