using System.CommandLine;
using Bundler.Inspection;

namespace Bundler.Cli;

/// <summary><c>kbundle verify ARTIFACTS_DIR [--pubkey FILE]</c>: signature, checksums, payloads; exit 4 on failure.</summary>
public static class VerifyCommand
{
    public sealed record Options(string Directory, string? PublicKey);

    private static readonly Argument<string> DirArgument = new("ARTIFACTS_DIR") { Description = "The folder a build wrote (artifacts/<site>)" };
    private static readonly Option<string?> PubkeyOption = new("--pubkey") { Description = "Trust this public key instead of the folder's signing.pub", HelpName = "FILE" };

    public static Command Create(CliOutput output)
    {
        var command = new Command("verify", "Verify the signature, every checksum and every payload of a build") { DirArgument, PubkeyOption };
        command.SetAction(parse => Run(Bind(parse), output));
        return command;
    }

    public static Options Bind(ParseResult parse) => new(parse.GetValue(DirArgument)!, parse.GetValue(PubkeyOption));

    public static int Run(Options options, CliOutput output)
    {
        var checks = Verifier.Verify(options.Directory, options.PublicKey);
        foreach (var check in checks)
            (check.Ok ? output.Out : output.Error).WriteLine($"{(check.Ok ? "ok    " : "FAILED")} {check.Subject}: {check.Detail}");
        var failed = checks.Count(c => !c.Ok);
        if (failed == 0)
        {
            output.Out.WriteLine($"{options.Directory}: verified ({checks.Count} checks)");
            return ExitCodes.Success;
        }
        output.Error.WriteLine($"{options.Directory}: {failed} of {checks.Count} checks FAILED");
        return ExitCodes.IntegrityError;
    }
}
