using System.CommandLine;
using System.Text.Json;
using Bundler.Configuration;
using Bundler.Pipeline;
using Bundler.Pki;
using Spectre.Console;

namespace Bundler.Cli;

/// <summary>
/// <c>kbundle certs SITE</c>: every certificate of a site, CAs first, then leaves, each once with its expiry and the time
/// left (the shape of <c>kubeadm certs check-expiration</c>); <c>--wide</c>: one row per node and certificate with CN, O,
/// issuer and SANs. Reads state only; never issues anything.
/// </summary>
public static class CertsCommand
{
    public sealed record Options(string Site, string? State, string? Pins, bool Json, bool Wide = false, int? ExpiringWithin = null);

    /// <summary>Anything expiring sooner than this is called out.</summary>
    public const int WarningDays = 90;

    private static readonly Argument<string> SiteArgument = Cli.Shared.Site();
    private static readonly Option<string?> StateOption = Cli.Shared.State();
    private static readonly Option<string?> PinsOption = Cli.Shared.Pins();
    private static readonly Option<bool> JsonOption = Cli.Shared.Json();
    private static readonly Option<bool> WideOption = new("--wide") { Description = "One row per node and certificate, with CN, O, issuer and SANs" };
    private static readonly Option<int?> ExpiringWithinOption = new("--expiring-within")
    {
        Description = "Exit 1 when any certificate expires within DAYS days, naming each (for monitoring)", HelpName = "DAYS",
    };

    public static Command Create(CliOutput output)
    {
        var command = new Command("certs", "List every certificate of a site: CAs first, then leaves, with expiry and time left")
            { SiteArgument, StateOption, PinsOption, JsonOption, WideOption, ExpiringWithinOption };
        command.SetAction(parse => Run(Bind(parse), output));
        return command;
    }

    public static Options Bind(ParseResult parse) =>
        new(parse.GetValue(SiteArgument)!, parse.GetValue(StateOption), parse.GetValue(PinsOption), parse.GetValue(JsonOption), parse.GetValue(WideOption),
            parse.GetValue(ExpiringWithinOption));

    /// <summary>One line of the listing.</summary>
    public sealed record Row(string Node, string File, string CommonName, IReadOnlyList<string> Organizations, string Issuer,
        IReadOnlyList<string> Sans, DateTimeOffset NotAfter, int ExpiresInDays, string Id = "");

    /// <summary>One certificate of the site (once, however many nodes hold it): its state id, issuer, expiry and holders.</summary>
    public sealed record Certificate(string Id, bool IsAuthority, string? Issuer, DateTimeOffset NotAfter, IReadOnlyList<string> Nodes);

    public static int Run(Options options, CliOutput output, DateTimeOffset? now = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        if (options.ExpiringWithin is < 0 or > MaxDays)
            throw new UserInputException($"--expiring-within {options.ExpiringWithin}: not a number of days; allowed: 0 to {MaxDays}");
        var inputs = Builder.LoadInputs(new BuildOptions { SitePath = options.Site, PinsFile = options.Pins, StateDir = options.State });
        var site = inputs.Site;
        var stateDir = inputs.StateDir;
        var at = now ?? DateTimeOffset.UtcNow;
        var pki = PkiStore.Open(site, stateDir);
        var rows = Rows(site, pki, at);
        var certificates = Certificates(site, pki);
        var expiring = certificates.Where(c => DaysLeft(c.NotAfter, at) < WarningDays).ToList();
        // --expiring-within DAYS: what ends before now + DAYS (an expired one included); exit 1 when anything does.
        var due = options.ExpiringWithin is { } days ? certificates.Where(c => c.NotAfter <= at.AddDays(days)).ToList() : [];
        var code = due.Count > 0 ? ExitCodes.Failure : ExitCodes.Success;

        if (options.Json)
        {
            output.Out.WriteLine(JsonSerializer.Serialize(new
            {
                site = site.Name,
                stateDir,
                authorities = certificates.Where(c => c.IsAuthority).Select(c => new { id = c.Id, notAfter = Iso(c.NotAfter), expiresInDays = DaysLeft(c.NotAfter, at) }),
                certificates = rows.Select(r => new
                {
                    id = r.Id, node = r.Node, file = r.File, cn = r.CommonName, o = r.Organizations, issuer = r.Issuer, sans = r.Sans,
                    notAfter = Iso(r.NotAfter), expiresInDays = r.ExpiresInDays,
                }),
                warnings = expiring.Select(c => Warning(c, at)),
                expiringWithin = options.ExpiringWithin is { } within ? new
                {
                    days = within,
                    certificates = due.Select(c => new { id = c.Id, notAfter = Iso(c.NotAfter), expiresInDays = DaysLeft(c.NotAfter, at), nodes = c.Nodes }),
                } : null,
            }, JsonOut.Options));
            return code;
        }

        if (options.Wide)
            WriteWide(rows, output);
        else
            WriteListing(certificates, at, output);
        foreach (var c in expiring)
            output.Error.WriteLine("warning: " + Warning(c, at));
        if (options.ExpiringWithin is { } limit)
        {
            output.Out.WriteLine();
            output.Out.WriteLine(due.Count == 0 ? $"No certificate expires within {limit} days." : $"{due.Count} certificate(s) expire within {limit} days:");
            var width = due.Select(c => c.Id.Length).DefaultIfEmpty(0).Max();
            foreach (var c in due)
                output.Out.WriteLine($"  {c.Id.PadRight(width)}  {Date(c.NotAfter)}  {Left(c.NotAfter, at)}");
        }
        return code;
    }

    /// <summary>The largest <c>--expiring-within</c>: a hundred years.</summary>
    public const int MaxDays = 36500;

    /// <summary>
    /// The shape of <c>kubeadm certs check-expiration</c>, in 80 columns: the CAs, then every leaf once (its state id),
    /// each with its expiry and the time left; the leaves also with their CA.
    /// </summary>
    private static void WriteListing(IReadOnlyList<Certificate> certificates, DateTimeOffset at, CliOutput output)
    {
        var cas = certificates.Where(c => c.IsAuthority).ToList();
        var leaves = certificates.Where(c => !c.IsAuthority).ToList();
        var o = output.Out;
        var caWidth = Math.Max("CERTIFICATE AUTHORITY".Length, cas.Select(c => c.Id.Length).DefaultIfEmpty(0).Max());
        o.WriteLine($"{"CERTIFICATE AUTHORITY".PadRight(caWidth)}  {"EXPIRES",-20}  TIME LEFT");
        foreach (var c in cas)
            o.WriteLine($"{c.Id.PadRight(caWidth)}  {Date(c.NotAfter),-20}  {Left(c.NotAfter, at)}");
        o.WriteLine();
        var width = Math.Max("CERTIFICATE".Length, leaves.Select(c => c.Id.Length).DefaultIfEmpty(0).Max());
        o.WriteLine($"{"CERTIFICATE".PadRight(width)}  {"EXPIRES",-20}  {"TIME LEFT",-9}  CA");
        foreach (var c in leaves)
            o.WriteLine($"{c.Id.PadRight(width)}  {Date(c.NotAfter),-20}  {Left(c.NotAfter, at),-9}  {c.Issuer}");
    }

    private static void WriteWide(IReadOnlyList<Row> rows, CliOutput output)
    {
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
    }

    /// <summary>Every certificate of the site once, in table order (CAs lead it), with the nodes that carry it.</summary>
    public static IReadOnlyList<Certificate> Certificates(SiteSpec site, PkiMaterial pki)
    {
        ArgumentNullException.ThrowIfNull(site);
        ArgumentNullException.ThrowIfNull(pki);
        return pki.Items.Where(i => i.Certificate is not null).Select(i => new Certificate(i.Instance.Id, i.Instance.Spec.IsAuthority, i.Instance.Spec.Issuer,
                new DateTimeOffset(i.Certificate!.NotAfter.ToUniversalTime()),
                site.Nodes.Where(n => i.Instance.HoldsCertificate(site, n)).Select(n => n.Name).ToList()))
            .OrderBy(c => c.IsAuthority ? 0 : 1).ToList();
    }

    private static int DaysLeft(DateTimeOffset notAfter, DateTimeOffset at) => (int)Math.Floor((notAfter - at).TotalDays);

    /// <summary>kubeadm's residual time (ShortHumanDuration): seconds, minutes, hours up to two days, days up to two years, then years.</summary>
    private static string Left(DateTimeOffset notAfter, DateTimeOffset at)
    {
        var left = notAfter - at;
        if (left <= TimeSpan.Zero)
            return "expired";
        return left.TotalSeconds < 60 ? $"{(int)left.TotalSeconds}s"
            : left.TotalMinutes < 60 ? $"{(int)left.TotalMinutes}m"
            : left.TotalHours < 48 ? $"{(int)left.TotalHours}h"
            : left.TotalDays < 365 * 2 ? $"{(int)left.TotalDays}d"
            : $"{(int)(left.TotalDays / 365)}y";
    }

    private static string Date(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture);

    private static string Iso(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Every certificate every node carries, nodes in site order, certificates in table order.</summary>
    public static IReadOnlyList<Row> Rows(SiteSpec site, PkiMaterial pki, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(site);
        ArgumentNullException.ThrowIfNull(pki);
        return site.Nodes.SelectMany(node => pki.CertificatesFor(node).Select(c => new Row(
            node.Name, c.Path, c.CommonName, c.Organizations, c.IssuerCommonName, c.Sans, c.NotAfter,
            (int)Math.Floor((c.NotAfter - now).TotalDays), c.Id))).ToList();
    }

    private static string Warning(Certificate c, DateTimeOffset at) =>
        $"{c.Id} expires on {c.NotAfter:yyyy-MM-dd}, in {DaysLeft(c.NotAfter, at)} days ({(c.Nodes.Count == 0 ? "in state only" : "on " + string.Join(", ", c.Nodes))}); " +
        (c.IsAuthority ? "a CA is rotated deliberately, never by a rebuild" : "rebuild to renew it (kbundle build SITE --renew renews every leaf)");

    private static string Short(string san) => san.StartsWith("DNS:", StringComparison.Ordinal) ? san[4..] : san[3..];
}
