using System.CommandLine;
using Bundler.Audit;
using Bundler.Layout;

namespace Bundler.Cli;

/// <summary>
/// <c>kbundle report ARTIFACTS_DIR [--against OLD] [--pubkey FILE] [--out FILE]</c>: verifies the folder (exit 4 and nothing
/// written when it does not), then makes its report.html again (SPEC §9).
/// </summary>
public static class ReportCommand
{
    public sealed record Options(string Directory, string? Against, string? PublicKey, string? Out);

    private static readonly Argument<string> DirArgument = new("ARTIFACTS_DIR") { Description = "The folder a build wrote (artifacts/<site>)" };
    private static readonly Option<string?> AgainstOption = new("--against") { Description = "List the changes since this earlier build folder (verified too)", HelpName = "OLD" };
    private static readonly Option<string?> PubkeyOption = new("--pubkey") { Description = "Trust this public key instead of the folder's signing.pub", HelpName = "FILE" };
    private static readonly Option<string?> OutOption = new("--out") { Description = "Write the report here [default: ARTIFACTS_DIR/report.html, only when it comes out as signed]", HelpName = "FILE" };

    public static Command Create(CliOutput output)
    {
        var command = new Command("report", "Verify a build folder, then make its self-contained HTML audit report again") { DirArgument, AgainstOption, PubkeyOption, OutOption };
        command.SetAction(parse => Run(Bind(parse), output));
        return command;
    }

    public static Options Bind(ParseResult parse) =>
        new(parse.GetValue(DirArgument)!, parse.GetValue(AgainstOption), parse.GetValue(PubkeyOption), parse.GetValue(OutOption));

    public static int Run(Options options, CliOutput output)
    {
        var html = FolderReport.Recreate(options.Directory, options.Against, options.PublicKey, DateTimeOffset.UtcNow);
        var signed = Path.Combine(options.Directory, BundleLayout.ReportFile);
        if (options.Out is null)
        {
            // The folder's report.html is covered by the signature: it may only be "written" with the bytes it already has.
            if (File.Exists(signed) && File.ReadAllBytes(signed).AsSpan().SequenceEqual(html))
            {
                output.Out.WriteLine($"{signed}: re-created from the verified folder, byte-identical to the signed report");
                return ExitCodes.Success;
            }
            throw new UserInputException($"the re-created report differs from {signed} (" +
                (File.Exists(signed) ? "other changes, or another kbundle version" : "the folder has none") +
                "), and the folder's signature covers that file; write it elsewhere with --out FILE");
        }
        AtomicFile.WriteAllBytes(options.Out, html);
        output.Out.WriteLine($"{options.Out}: report of {options.Directory} written ({html.Length} bytes)");
        return ExitCodes.Success;
    }
}
