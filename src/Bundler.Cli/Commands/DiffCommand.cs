using System.CommandLine;

namespace Bundler.Cli;

/// <summary><c>kbundle diff OLD NEW</c>: what changed between two builds, per node.</summary>
public static class DiffCommand
{
    public sealed record Options(string Old, string New);

    private static readonly Argument<string> OldArgument = new("OLD") { Description = "A .run file or artifacts folder" };
    private static readonly Argument<string> NewArgument = new("NEW") { Description = "A .run file or artifacts folder" };

    public static Command Create(CliOutput output)
    {
        var command = new Command("diff", "Compare two builds: binaries, configs (unified diff), certificates") { OldArgument, NewArgument };
        command.SetAction(parse => NotYet.Report("diff", output));
        return command;
    }

    public static Options Bind(ParseResult parse) => new(parse.GetValue(OldArgument)!, parse.GetValue(NewArgument)!);
}
