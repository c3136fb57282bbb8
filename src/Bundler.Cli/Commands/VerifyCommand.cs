using System.CommandLine;
using Bundler.Inspection;

namespace Bundler.Cli;

/// <summary>
/// <c>kbundle verify ARTIFACTS_DIR|FILE.run [--pubkey FILE]</c>: signature, checksums, payloads; exit 4 on failure. Prints
/// the signing key's fingerprint, and warns when the key trusted is the one inside the folder being checked.
/// </summary>
public static class VerifyCommand
{
    public sealed record Options(string Directory, string? PublicKey);

    private static readonly Argument<string> DirArgument = new("TARGET") { Description = "The folder a build wrote (artifacts/<site>), or one .run in it" };
    private static readonly Option<string?> PubkeyOption = new("--pubkey") { Description = "Trust this public key instead of the folder's signing.pub", HelpName = "FILE" };

    public static Command Create(CliOutput output)
    {
        var command = new Command("verify", "Verify the signature, every checksum and every payload of a build (or of one bundle in it)") { DirArgument, PubkeyOption };
        command.SetAction(parse => Run(Bind(parse), output));
        return command;
    }

    public static Options Bind(ParseResult parse) => new(parse.GetValue(DirArgument)!, parse.GetValue(PubkeyOption));

    public static int Run(Options options, CliOutput output)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        var checks = Verifier.Verify(options.Directory, options.PublicKey);
        var key = Verifier.Key(options.Directory, options.PublicKey);
        output.Out.WriteLine($"signing key sha256:{key.Sha256 ?? "(none: no public key)"} ({key.Path})");
        if (key.FromFolder)
            output.Error.WriteLine("warning: verified with the signing.pub inside the folder: that proves the files agree with each other, not who " +
                                   "signed them. Compare the fingerprint above with the one you were given, or pass --pubkey FILE with the key you trust");
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
