using System.CommandLine;
using System.Text.Json;
using Bundler.Inspection;

namespace Bundler.Cli;

/// <summary>
/// <c>kbundle diff OLD NEW [--stat] [--json]</c>: what changed between two builds, per node. Exit 1 when they differ, 0
/// when not (like <c>diff</c>); 2 and 4 stay bad input and integrity.
/// </summary>
public static class DiffCommand
{
    public sealed record Options(string Old, string New, bool Stat = false, bool Json = false);

    private static readonly Argument<string> OldArgument = new("OLD") { Description = "A .run file or artifacts folder" };
    private static readonly Argument<string> NewArgument = new("NEW") { Description = "A .run file or artifacts folder" };
    private static readonly Option<bool> StatOption = new("--stat") { Description = "One line per node: how many of each kind of change" };
    private static readonly Option<bool> JsonOption = Cli.Shared.Json();

    /// <summary>Exit code when the builds differ (diff(1)'s).</summary>
    public const int Differ = 1;

    public static Command Create(CliOutput output)
    {
        var command = new Command("diff", "Compare two builds: header and /etc/hosts, certificates, binaries, configs (secrets hidden); exit 1 if they differ")
            { OldArgument, NewArgument, StatOption, JsonOption };
        command.SetAction(parse => Run(Bind(parse), output));
        return command;
    }

    public static Options Bind(ParseResult parse) =>
        new(parse.GetValue(OldArgument)!, parse.GetValue(NewArgument)!, parse.GetValue(StatOption), parse.GetValue(JsonOption));

    public static int Run(Options options, CliOutput output)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        var diffs = BundleDiff.Compare(BundleDiff.Load(options.Old), BundleDiff.Load(options.New));
        var changed = diffs.Where(d => d.Status != NodeDiff.Unchanged).ToList();
        if (options.Json)
            output.Out.WriteLine(JsonSerializer.Serialize(new
            {
                differ = changed.Count > 0,
                nodes = diffs.Select(d => new
                {
                    node = d.Node,
                    status = d.Status,
                    changes = d.Changes.Select(c => new { kind = c.Kind, path = c.Path, summary = c.Summary, diff = c.Diff }),
                }),
            }, JsonOut.Options));
        else if (options.Stat)
            WriteStat(diffs, output);
        else
        {
            foreach (var diff in changed)
            {
                output.Out.WriteLine($"== {diff.Node}");
                foreach (var line in diff.Lines)
                    output.Out.WriteLine(line);
            }
            if (changed.Count == 0)
                output.Out.WriteLine("no differences");
        }
        return changed.Count > 0 ? Differ : ExitCodes.Success;
    }

    /// <summary>Like <c>git diff --stat</c>, per node: the kinds of change and how many of each.</summary>
    private static void WriteStat(IReadOnlyList<NodeDiff> diffs, CliOutput output)
    {
        var width = diffs.Select(d => d.Node.Length).DefaultIfEmpty(4).Max();
        foreach (var d in diffs)
        {
            var counts = d.Changes.GroupBy(c => c.Kind).OrderBy(g => Order(g.Key)).Select(g => Count(g.Key, g.Select(c => c.Path).Distinct().Count()));
            output.Out.WriteLine(d.Status == NodeDiff.Changed ? $"{d.Node.PadRight(width)}  changed: {string.Join(", ", counts)}" : $"{d.Node.PadRight(width)}  {d.Status}");
        }
        output.Out.WriteLine($"{diffs.Count} nodes: " + string.Join(", ",
            new[] { NodeDiff.Changed, NodeDiff.Added, NodeDiff.Removed, NodeDiff.Unchanged }.Select(s => (s, n: diffs.Count(d => d.Status == s))).Where(x => x.n > 0).Select(x => $"{x.n} {x.s}")));
    }

    private static readonly string[] Kinds = ["header", "hosts", "certificate", "binary", "config", "key", "secret", "mode"];

    private static int Order(string kind) => Array.IndexOf(Kinds, kind) is var i and >= 0 ? i : Kinds.Length;

    private static string Count(string kind, int n) => kind switch
    {
        "header" => $"{n} header field{(n == 1 ? "" : "s")}",
        "hosts" => "/etc/hosts",
        "binary" => $"{n} binar{(n == 1 ? "y" : "ies")}",
        "key" => $"{n} private key{(n == 1 ? "" : "s")}",
        _ => $"{n} {kind}{(n == 1 ? "" : "s")}",
    };
}
