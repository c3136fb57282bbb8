using System.CommandLine;

namespace Bundler.Cli;

/// <summary><c>kbundle inspect FILE.run|ARTIFACTS_DIR</c>: what a bundle carries.</summary>
public static class InspectCommand
{
    public sealed record Options(string Target, bool Json);

    private static readonly Argument<string> TargetArgument = new("TARGET") { Description = "A <node>.run bundle or an artifacts folder" };
    private static readonly Option<bool> JsonOption = Cli.Shared.Json();

    public static Command Create(CliOutput output)
    {
        var command = new Command("inspect", "Show what a bundle carries: components, files, certificates, keys, units") { TargetArgument, JsonOption };
        command.SetAction(parse => NotYet.Report("inspect", output));
        return command;
    }

    public static Options Bind(ParseResult parse) => new(parse.GetValue(TargetArgument)!, parse.GetValue(JsonOption));
}
