using System.CommandLine;
using Bundler.Inspection;

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
        command.SetAction(parse => Run(Bind(parse), output));
        return command;
    }

    public static Options Bind(ParseResult parse) => new(parse.GetValue(OldArgument)!, parse.GetValue(NewArgument)!);

    /// <summary>Prints each node's changes; exit 0 either way (like <c>git diff</c> without --exit-code).</summary>
    public static int Run(Options options, CliOutput output)
    {
        var diffs = BundleDiff.Compare(BundleDiff.Load(options.Old), BundleDiff.Load(options.New));
        var changed = diffs.Where(d => d.Lines.Count > 0).ToList();
        foreach (var diff in changed)
        {
            output.Out.WriteLine($"== {diff.Node}");
            foreach (var line in diff.Lines)
                output.Out.WriteLine(line);
        }
        if (changed.Count == 0)
            output.Out.WriteLine("no differences");
        return ExitCodes.Success;
    }
}
