using System.CommandLine;
using System.Text.Json;
using Bundler.Configuration;
using Bundler.Pipeline;
using Bundler.Pki;
using Spectre.Console;

namespace Bundler.Cli;

/// <summary>
/// <c>kbundle certs SITE</c>: every certificate of a site per node (node, file, CN, O, issuer, SANs, days to
/// expiry), like RKE2's <c>certificate check --output table</c>. Reads state only; never issues anything.
/// </summary>
public static class CertsCommand
{
    public sealed record Options(string Site, string? State, string? Pins, bool Json);

    /// <summary>Anything expiring sooner than this is called out.</summary>
    public const int WarningDays = 90;

    private static readonly Argument<string> SiteArgument = Cli.Shared.Site();
    private static readonly Option<string?> StateOption = Cli.Shared.State();
    private static readonly Option<string?> PinsOption = Cli.Shared.Pins();
    private static readonly Option<bool> JsonOption = Cli.Shared.Json();

    public static Command Create(CliOutput output)
    {
        var command = new Command("certs", "List every certificate of a site: node, file, CN, O, issuer, SANs, days to expiry")
            { SiteArgument, StateOption, PinsOption, JsonOption };
        command.SetAction(parse => Run(Bind(parse), output));
        return command;
    }

    public static Options Bind(ParseResult parse) =>
        new(parse.GetValue(SiteArgument)!, parse.GetValue(StateOption), parse.GetValue(PinsOption), parse.GetValue(JsonOption));

    /// <summary>One line of the listing.</summary>
    public sealed record Row(string Node, string File, string CommonName, IReadOnlyList<string> Organizations, string Issuer,
        IReadOnlyList<string> Sans, DateTimeOffset NotAfter, int ExpiresInDays);

    public static int Run(Options options, CliOutput output, DateTimeOffset? now = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        var inputs = Builder.LoadInputs(new BuildOptions { SitePath = options.Site, PinsFile = options.Pins, StateDir = options.State });
        var site = inputs.Site;
        var stateDir = inputs.StateDir;
        var rows = Rows(site, PkiStore.Open(site, stateDir), now ?? DateTimeOffset.UtcNow);
        var expiring = rows.Where(r => r.ExpiresInDays < WarningDays).ToList();

        if (options.Json)
        {
            output.Out.WriteLine(JsonSerializer.Serialize(new
            {
                site = site.Name,
                stateDir,
                certificates = rows.Select(r => new
                {
                    node = r.Node, file = r.File, cn = r.CommonName, o = r.Organizations, issuer = r.Issuer, sans = r.Sans,
                    notAfter = r.NotAfter.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
                    expiresInDays = r.ExpiresInDays,
                }),
                warnings = expiring.Select(Warning),
            }, JsonOut.Options));
            return ExitCodes.Success;
        }

        var table = new Table().Border(TableBorder.Simple)
            .AddColumn(new TableColumn("Node").NoWrap()).AddColumn(new TableColumn("File").NoWrap()).AddColumn(new TableColumn("CN").NoWrap())
            .AddColumn(new TableColumn("O").NoWrap()).AddColumn(new TableColumn("Issuer").NoWrap())
            .AddColumn(new TableColumn("Expires").RightAligned().NoWrap()).AddColumn("SANs");
        foreach (var r in rows)
        {
            var days = $"{r.ExpiresInDays}d";
            table.AddRow(Markup.Escape(r.Node), Markup.Escape(r.File), Markup.Escape(r.CommonName), Markup.Escape(string.Join(",", r.Organizations)),
                Markup.Escape(r.Issuer), r.ExpiresInDays < WarningDays ? $"[yellow]{days}[/]" : days,
                Markup.Escape(string.Join(", ", r.Sans.Select(Short))));
        }
        // Piped or under CI, one certificate is one full line (grep-able); a terminal wraps the SANs column.
        var width = output.Console.Profile.Width;
        if (!output.Interactive)
            output.Console.Profile.Width = 1000;
        try
        {
            output.Console.Write(table);
        }
        finally
        {
            output.Console.Profile.Width = width;
        }
        foreach (var r in expiring)
            output.Error.WriteLine("warning: " + Warning(r));
        return ExitCodes.Success;
    }

    /// <summary>Every certificate every node carries, nodes in site order, certificates in table order.</summary>
    public static IReadOnlyList<Row> Rows(SiteSpec site, PkiMaterial pki, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(site);
        ArgumentNullException.ThrowIfNull(pki);
        return site.Nodes.SelectMany(node => pki.CertificatesFor(node).Select(c => new Row(
            node.Name, c.Path, c.CommonName, c.Organizations, c.IssuerCommonName, c.Sans, c.NotAfter,
            (int)Math.Floor((c.NotAfter - now).TotalDays)))).ToList();
    }

    private static string Warning(Row r) =>
        $"{r.Node}:{r.File} ({r.CommonName}) expires on {r.NotAfter:yyyy-MM-dd}, in {r.ExpiresInDays} days; rebuild to renew leaves " +
        "(kbundle build SITE --renew), rotate a CA deliberately";

    private static string Short(string san) => san.StartsWith("DNS:", StringComparison.Ordinal) ? san[4..] : san[3..];
}
