using System.CommandLine;
using System.Text.Json;
using Bundler.Configuration;
using Bundler.Pipeline;

namespace Bundler.Cli;

/// <summary><c>kbundle validate SITE</c>: every problem at once, exit 2 if any; writes nothing.</summary>
public static class ValidateCommand
{
    public sealed record Options(string Site, string? Pins, bool Json);

    private static readonly Argument<string> SiteArgument = Cli.Shared.Site();
    private static readonly Option<string?> PinsOption = Cli.Shared.Pins();
    private static readonly Option<bool> JsonOption = Cli.Shared.Json();

    public static Command Create(CliOutput output)
    {
        var command = new Command("validate", "Check a site file and report every problem with file:line:column") { SiteArgument, PinsOption, JsonOption };
        command.SetAction(parse => Run(Bind(parse), output));
        return command;
    }

    public static Options Bind(ParseResult parse) => new(parse.GetValue(SiteArgument)!, parse.GetValue(PinsOption), parse.GetValue(JsonOption));

    public static int Run(Options options, CliOutput output)
    {
        BuildInputs inputs;
        try
        {
            inputs = Builder.LoadInputs(new BuildOptions { SitePath = options.Site, PinsFile = options.Pins });
        }
        catch (UserInputException e) when (options.Json)
        {
            output.Out.WriteLine(JsonSerializer.Serialize(new { valid = false, problems = Describe(e.Diagnostics), message = e.Message }, JsonOut.Options));
            return ExitCodes.UsageError;
        }
        if (options.Json)
        {
            output.Out.WriteLine(JsonSerializer.Serialize(new { valid = true, problems = Describe(inputs.Warnings) }, JsonOut.Options));
            return ExitCodes.Success;
        }
        foreach (var warning in inputs.Warnings)
            output.Error.WriteLine(warning);
        var site = inputs.Site;
        output.Out.WriteLine($"{options.Site}: ok: site '{site.Name}', Kubernetes {site.Kubernetes}, {site.Nodes.Length} nodes " +
                             $"({site.Masters.Count()} master, {site.EtcdMembers.Count()} etcd, {site.Workers.Count()} worker)");
        return ExitCodes.Success;
    }

    private static object[] Describe(IEnumerable<Diagnostic> diagnostics) =>
        diagnostics.Select(d => (object)new
        {
            severity = d.Severity.ToString().ToLowerInvariant(), file = d.File, line = d.Line, column = d.Column,
            field = d.Field, problem = d.Problem, allowed = d.Allowed,
        }).ToArray();
}

internal static class JsonOut
{
    public static readonly JsonSerializerOptions Options = new() { WriteIndented = true };
}
