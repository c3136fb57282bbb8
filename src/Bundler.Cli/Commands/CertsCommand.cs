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
