using System.CommandLine;

namespace Bundler.Cli;

/// <summary><c>kbundle certs SITE</c>: table of every certificate (filled by the PKI work).</summary>
public static class CertsCommand
{
    public sealed record Options(string Site, string? State, string? Pins, bool Json);

    private static readonly Argument<string> SiteArgument = Cli.Shared.Site();
    private static readonly Option<string?> StateOption = Cli.Shared.State();
    private static readonly Option<string?> PinsOption = Cli.Shared.Pins();
    private static readonly Option<bool> JsonOption = Cli.Shared.Json();

    public static Command Create(CliOutput output)
    {
        var command = new Command("certs", "List every certificate of a site: node, file, CN, O, issuer, SANs, days to expiry")
            { SiteArgument, StateOption, PinsOption, JsonOption };
        command.SetAction(parse => NotYet.Report("certs", output));
        return command;
    }

    public static Options Bind(ParseResult parse) =>
        new(parse.GetValue(SiteArgument)!, parse.GetValue(StateOption), parse.GetValue(PinsOption), parse.GetValue(JsonOption));
}

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

/// <summary><c>kbundle verify ARTIFACTS_DIR [--pubkey FILE]</c>: signature, checksums, payloads; exit 4 on failure.</summary>
public static class VerifyCommand
{
    public sealed record Options(string Directory, string? PublicKey);

    private static readonly Argument<string> DirArgument = new("ARTIFACTS_DIR") { Description = "The folder a build wrote (artifacts/<site>)" };
    private static readonly Option<string?> PubkeyOption = new("--pubkey") { Description = "Trust this public key instead of the folder's signing.pub", HelpName = "FILE" };

    public static Command Create(CliOutput output)
    {
        var command = new Command("verify", "Verify the signature, every checksum and every payload of a build") { DirArgument, PubkeyOption };
        command.SetAction(parse => NotYet.Report("verify", output));
        return command;
    }

    public static Options Bind(ParseResult parse) => new(parse.GetValue(DirArgument)!, parse.GetValue(PubkeyOption));
}

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

internal static class NotYet
{
    public static int Report(string command, CliOutput output)
    {
        output.Error.WriteLine($"kbundle {command}: not implemented yet");
        return ExitCodes.Failure;
    }
}
