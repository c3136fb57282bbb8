using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Packaging;
using Bundler.Pki;

namespace Bundler.Audit;

/// <summary>
/// What a report is made from: the build's manifest (and its hash, and its <c>buildSerial</c> when it has one), the tool,
/// the signing key, and the build's history.
/// </summary>
public sealed record ReportInput(BundleManifest Manifest, string ManifestSha256, ToolIdentity Tool, string SigningKeyFingerprint, ReportHistory History)
{
    public long? BuildSerial { get; init; }
}

/// <summary>How soon a certificate expires, counted from the report's date; the report colours rows and timeline marks by it.</summary>
public enum Urgency { Ok, Warning, Critical, Expired }

/// <summary>One certificate of the build (the same certificate on several nodes is one row) and where it sits.</summary>
public sealed record CertificateRow(CertificateRecord Certificate, IReadOnlyList<(string Node, string Path)> Holders, int DaysLeft, Urgency Urgency);

/// <summary>
/// report.html (SPEC §9): one page an auditor can read offline, in a browser with scripts off, or printed. Everything is
/// inline (CSS, an SVG timeline), nothing is fetched (a Content-Security-Policy forbids it), and every value from the
/// manifest is HTML-escaped. The same input gives the same bytes.
/// </summary>
public static class AuditReport
{
    public const int CriticalDays = 30;
    public const int WarningDays = 90;

    public static Urgency UrgencyOf(int daysLeft) => daysLeft switch
    {
        < 0 => Urgency.Expired,
        <= CriticalDays => Urgency.Critical,
        <= WarningDays => Urgency.Warning,
        _ => Urgency.Ok,
    };

    /// <summary>Every distinct certificate (by issuer and serial), soonest expiry first, with the nodes and paths that hold it.</summary>
    public static IReadOnlyList<CertificateRow> Certificates(BundleManifest manifest, DateTimeOffset asOf)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return manifest.Nodes
            .SelectMany(n => n.Certificates.Select(c => (Node: n.Name, Cert: c)))
            .GroupBy(x => (x.Cert.Issuer, x.Cert.SerialNumber))
            .Select(g =>
            {
                var cert = g.First().Cert;
                var days = (int)Math.Floor((cert.NotAfter - asOf).TotalDays);
                return new CertificateRow(cert, g.Select(x => (x.Node, x.Cert.Path)).ToList(), days, UrgencyOf(days));
            })
            .OrderBy(r => r.Certificate.NotAfter).ThenBy(r => r.Certificate.Subject, StringComparer.Ordinal).ThenBy(r => r.Certificate.SerialNumber, StringComparer.Ordinal)
            .ToList();
    }

    public static byte[] Render(ReportInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var m = input.Manifest;
        var certificates = Certificates(m, input.History.AsOf);
        var page = new Page();
        page.Raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            // Nothing on this page may be fetched: no scripts run, no styles or images load from anywhere.
            .Raw("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n")
            .Raw("<meta name=\"generator\" content=\"").Text(ToolIdentity.Name + " " + input.Tool.Full).Raw("\">\n")
            .Raw("<title>").Text($"Audit report: site {m.Site.Name}, Kubernetes {m.Site.Kubernetes}").Raw("</title>\n")
            .Raw("<style>\n").Raw(Css).Raw("</style>\n")
            .Raw($"<script type=\"application/json\" id=\"{ReportHistory.ElementId}\">").Raw(input.History.ToJson()).Raw("</script>\n")
            .Raw("</head>\n<body>\n");

        page.Raw("<header>\n<h1>").Text($"Audit report: site {m.Site.Name}").Raw("</h1>\n<p class=\"lead\">")
            .Text($"Kubernetes {m.Site.Kubernetes}, {m.Nodes.Count} node bundle(s). Days left are counted from {input.History.AsOfText}, when this build was reported.")
            .Raw("</p>\n</header>\n");
        page.Raw("<nav aria-label=\"Contents\"><ol>")
            .Raw("<li><a href=\"#summary\">Summary</a></li><li><a href=\"#install\">Install order</a></li><li><a href=\"#nodes\">Nodes</a></li>")
            .Raw("<li><a href=\"#components\">Components</a></li><li><a href=\"#images\">Images</a></li><li><a href=\"#certificates\">Certificates</a></li>")
            .Raw("<li><a href=\"#keys\">Private keys</a></li><li><a href=\"#changes\">Changes</a></li><li><a href=\"#verify\">Verify</a></li>")
            .Raw("</ol></nav>\n<main>\n");

        Summary(page, input, certificates);
        Install(page, m);
        Nodes(page, m);
        Components(page, m);
        Images(page, m);
        CertificateSection(page, certificates, input.History.AsOf);
        KeyMatrix(page, m);
        Changes(page, input.History.Changes);
        Verify(page, input);
        page.Raw("</main>\n<footer>").Text($"Written by {ToolIdentity.Name} {input.Tool.Full} from manifest.json (sha256 {input.ManifestSha256}).").Raw("</footer>\n</body>\n</html>\n");
        return Encoding.UTF8.GetBytes(page.ToString());
    }

    private static void Summary(Page page, ReportInput input, IReadOnlyList<CertificateRow> certificates)
    {
        var m = input.Manifest;
        var soonest = certificates.FirstOrDefault();
        page.Section("summary", "Summary").Raw("<table class=\"facts\">\n");
        Fact(page, "Site", m.Site.Name);
        Fact(page, "Kubernetes", m.Site.Kubernetes);
        Fact(page, "Site file sha256", m.Site.SourceSha256, code: true);
        Fact(page, "Tool", $"{ToolIdentity.Name} {input.Tool.Version}");
        Fact(page, "Tool commit", input.Tool.Commit ?? "unknown (built outside a git work tree)", code: input.Tool.Commit is not null);
        if (input.BuildSerial is { } serial)
            Fact(page, "Build serial", serial.ToString(CultureInfo.InvariantCulture));
        Fact(page, "Manifest written by", $"{ToolIdentity.Name} {m.ToolVersion} (manifest format {m.FormatVersion})");
        Fact(page, "Signing key SHA-256", input.SigningKeyFingerprint, code: true);
        Fact(page, "manifest.json sha256", input.ManifestSha256, code: true);
        Fact(page, "Source date (mtime of every payload entry)", Date(DateTimeOffset.FromUnixTimeSeconds(m.SourceDateEpoch)) + $" ({m.SourceDateEpoch})");
        Fact(page, "Reported", input.History.AsOfText);
        Fact(page, "Bundles", $"{m.Nodes.Count}, {Size(m.Nodes.Sum(n => n.Bundle?.Size ?? 0))} in all");
        Fact(page, "Certificates", soonest is null ? "none" : $"{certificates.Count}; the first expires {Date(soonest.Certificate.NotAfter)} ({Days(soonest.DaysLeft)})");
        page.Raw("</table>\n</section>\n");
    }

    private static void Fact(Page page, string name, string value, bool code = false)
    {
        page.Raw("<tr><th scope=\"row\">").Text(name).Raw("</th><td>");
        if (code)
            page.Raw("<code>").Text(value).Raw("</code>");
        else
            page.Text(value);
        page.Raw("</td></tr>\n");
    }

    private static void Install(Page page, BundleManifest m)
    {
        page.Section("install", "Install order").Raw("<p>For field engineers: run each bundle on its host as root, in this order (also in <code>INSTALL.txt</code>).</p>\n<ol class=\"install\">\n");
        foreach (var step in InstallOrder.Steps(m))
        {
            page.Raw("<li><strong>").Text(step.Title).Raw("</strong>. ").Text(string.Join(" ", step.Notes)).Raw("<br>");
            page.Raw(string.Join(", ", step.Nodes.Select(n => $"<code>{Page.Escape(n.Bundle?.File ?? n.Name)}</code>"))).Raw("</li>\n");
        }
        page.Raw("</ol>\n</section>\n");
    }

    private static void Nodes(Page page, BundleManifest m)
    {
        page.Section("nodes", "Nodes").Raw("<table class=\"grid\" id=\"node-table\">\n<thead><tr><th>Node</th><th>Roles</th><th>IP</th><th>Arch</th><th>Bundle</th><th class=\"num\">Size</th><th>sha256</th><th>Units (start order)</th></tr></thead>\n<tbody>\n");
        foreach (var n in m.Nodes)
        {
            page.Raw("<tr class=\"node\" data-node=\"").Text(n.Name).Raw("\"><th scope=\"row\">").Text(n.Name).Raw("</th>")
                .Cell(string.Join(", ", n.Roles)).Cell(n.Ip).Cell(n.Arch).CodeCell(n.Bundle?.File ?? "")
                .Raw("<td class=\"num\">").Text(n.Bundle is { } b ? Size(b.Size) : "").Raw("</td>")
                .HashCell(n.Bundle?.Sha256 ?? "").Cell(string.Join(" ", n.Units)).Raw("</tr>\n");
        }
        page.Raw("</tbody>\n</table>\n</section>\n");
    }

    private static void Components(Page page, BundleManifest m)
    {
        page.Section("components", "Components and their provenance")
            .Raw("<p>Every pinned upstream artifact: where it was downloaded, the checksum it was verified against, and where that checksum was read (the lock's <code># checksum source</code>).</p>\n")
            .Raw("<table class=\"grid\" id=\"component-table\">\n<thead><tr><th>Name</th><th>Version</th><th>Arch</th><th>Licence</th><th>Download URL</th><th>Checksum</th><th>Checksum source</th><th>OpenPGP signature</th></tr></thead>\n<tbody>\n");
        foreach (var a in m.Artifacts)
        {
            page.Raw("<tr class=\"component\"><th scope=\"row\">").Text(a.Name).Raw("</th>").Cell(a.Version).Cell(a.Arch).Cell(a.License ?? "not stated")
                .Raw("<td class=\"url\">").Text(a.Url).Raw("</td>")
                .HashCell($"{a.Algorithm}:{a.Checksum}").Cell(a.ChecksumSource ?? "not stated")
                .Cell(a.SignedBy is null ? "none" : "verified, key " + a.SignedBy).Raw("</tr>\n");
        }
        page.Raw("</tbody>\n</table>\n");
        var builds = m.KubeNginx ?? [];
        if (builds.Count > 0)
        {
            page.Raw("<h3>kube-nginx, built from source</h3>\n<table class=\"grid\" id=\"nginx-table\">\n<thead><tr><th>Arch</th><th>nginx</th><th>Source sha256</th><th>Compiler</th><th>Target</th><th>Emulator</th><th>Binary sha256</th><th>configure</th></tr></thead>\n<tbody>\n");
            foreach (var p in builds)
                page.Raw("<tr>").Cell(Names.Of(p.Arch)).Cell(p.Version).HashCell(p.SourceSha256).Cell(p.Compiler).Cell(p.Target).Cell(p.Emulator ?? "none (native)")
                    .HashCell(p.BinarySha256).Raw("<td class=\"args\">").Text(string.Join(" ", p.ConfigureArguments)).Raw("</td></tr>\n");
            page.Raw("</tbody>\n</table>\n");
        }
        page.Raw("</section>\n");
    }

    private static void Images(Page page, BundleManifest m)
    {
        page.Section("images", "Images");
        var images = m.Images ?? [];
        if (images.Count == 0)
        {
            page.Raw("<p>This build ships no container images.</p>\n</section>\n");
            return;
        }
        page.Raw("<p>Every image is pinned by digest and verified blob by blob; nodes that run a kubelet carry their arch's platform.</p>\n")
            .Raw("<table class=\"grid\" id=\"image-table\">\n<thead><tr><th>Name</th><th>Reference</th><th>Pinned digest</th><th>Platforms (manifest digest, size)</th><th>Licence</th><th>Digest source</th></tr></thead>\n<tbody>\n");
        foreach (var i in images)
        {
            page.Raw("<tr class=\"image\"><th scope=\"row\">").Text(i.Name).Raw("</th>").CodeCell(i.Ref).HashCell(i.Digest).Raw("<td><ul class=\"plain\">");
            foreach (var p in i.Platforms)
                page.Raw("<li>").Text($"linux/{p.Arch}: ").Raw("<code class=\"hash\">").Text(p.Digest).Raw("</code>").Text($", {Size(p.Size)}").Raw("</li>");
            page.Raw("</ul></td>").Cell(i.License ?? "not stated").Cell(i.ChecksumSource ?? "not stated").Raw("</tr>\n");
        }
        page.Raw("</tbody>\n</table>\n</section>\n");
    }

    private static void CertificateSection(Page page, IReadOnlyList<CertificateRow> rows, DateTimeOffset asOf)
    {
        page.Section("certificates", "Certificates")
            .Raw($"<p>Every certificate the bundles carry, soonest expiry first, counted from the report's date. <span class=\"badge urgency-critical\">≤ {CriticalDays} days</span> <span class=\"badge urgency-warning\">≤ {WarningDays} days</span> <span class=\"badge urgency-ok\">later</span> <span class=\"badge urgency-expired\">expired</span></p>\n");
        Timeline(page, rows, asOf);
        page.Raw("<table class=\"grid\" id=\"certificate-table\">\n<thead><tr><th>Subject</th><th>Issuer</th><th>SANs</th><th>Not after</th><th class=\"num\">Days left</th><th>Held by</th><th>Key</th><th>Serial</th></tr></thead>\n<tbody>\n");
        foreach (var row in rows)
        {
            var c = row.Certificate;
            var urgency = Name(row.Urgency);
            page.Raw($"<tr class=\"cert urgency-{urgency}\" data-urgency=\"{urgency}\" data-days-left=\"{row.DaysLeft.ToString(CultureInfo.InvariantCulture)}\">")
                .Raw("<th scope=\"row\">").Text(c.Subject).Raw("</th>").Cell(c.Issuer)
                .Cell(c.Sans.Count == 0 ? "none" : string.Join(", ", c.Sans)).Cell(Date(c.NotAfter))
                .Raw("<td class=\"num\"><span class=\"badge urgency-").Raw(urgency).Raw("\">").Text(Days(row.DaysLeft)).Raw("</span></td>")
                .Raw("<td><ul class=\"plain\">");
            foreach (var (node, path) in row.Holders)
                page.Raw("<li>").Text(node).Raw(": <code>").Text(path).Raw("</code></li>");
            page.Raw("</ul></td>").Cell(c.KeyAlgorithm).Raw("<td class=\"serial\"><code class=\"hash\">").Text(c.SerialNumber).Raw("</code></td></tr>\n");
        }
        page.Raw("</tbody>\n</table>\n</section>\n");
    }

    /// <summary>
    /// The expiry timeline: one axis from the report's date to the last expiry, the 30- and 90-day zones shaded, and one
    /// mark per expiry date (certificates issued together expire together), coloured by its most urgent certificate.
    /// </summary>
    private static void Timeline(Page page, IReadOnlyList<CertificateRow> rows, DateTimeOffset asOf)
    {
        if (rows.Count == 0)
            return;
        const double width = 1000, left = 24, right = 24, axis = 118, height = 150;
        var start = rows.Min(r => r.Certificate.NotAfter) < asOf ? rows.Min(r => r.Certificate.NotAfter) : asOf;
        var last = rows.Max(r => r.Certificate.NotAfter);
        var end = last > asOf.AddDays(WarningDays) ? last : asOf.AddDays(WarningDays);
        end = end.AddDays(Math.Max(7, (end - start).TotalDays * 0.03));
        double X(DateTimeOffset t) => left + (t - start).TotalSeconds / (end - start).TotalSeconds * (width - left - right);
        string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

        var groups = rows.GroupBy(r => r.Certificate.NotAfter.UtcDateTime.Date).OrderBy(g => g.Key).ToList();
        page.Raw($"<figure class=\"timeline\"><svg id=\"expiry-timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {F(width)} {F(height)}\" role=\"img\" aria-labelledby=\"timeline-title timeline-desc\">")
            .Raw("<title id=\"timeline-title\">Certificate expiry timeline</title><desc id=\"timeline-desc\">")
            .Text($"{rows.Count} certificates expire on {groups.Count} date(s) between {Date(rows[0].Certificate.NotAfter)} and {Date(last)}.")
            .Raw("</desc>\n");
        page.Raw($"<rect class=\"zone-critical\" x=\"{F(X(asOf))}\" y=\"8\" width=\"{F(X(asOf.AddDays(CriticalDays)) - X(asOf))}\" height=\"{F(axis - 8)}\"/>")
            .Raw($"<rect class=\"zone-warning\" x=\"{F(X(asOf.AddDays(CriticalDays)))}\" y=\"8\" width=\"{F(X(asOf.AddDays(WarningDays)) - X(asOf.AddDays(CriticalDays)))}\" height=\"{F(axis - 8)}\"/>\n");
        page.Raw($"<line class=\"axis\" x1=\"{F(left)}\" y1=\"{F(axis)}\" x2=\"{F(width - right)}\" y2=\"{F(axis)}\"/>\n");
        foreach (var tick in Ticks(start, end))
            page.Raw($"<line class=\"tick\" x1=\"{F(X(tick.At))}\" y1=\"{F(axis)}\" x2=\"{F(X(tick.At))}\" y2=\"{F(axis + 5)}\"/><text class=\"tick-label\" x=\"{F(X(tick.At))}\" y=\"{F(axis + 18)}\">")
                .Text(tick.Label).Raw("</text>\n");
        page.Raw($"<line class=\"now\" x1=\"{F(X(asOf))}\" y1=\"4\" x2=\"{F(X(asOf))}\" y2=\"{F(axis)}\"/><text class=\"now-label\" x=\"{F(X(asOf) + 4)}\" y=\"16\">")
            .Text("reported " + Date(asOf)).Raw("</text>\n");
        for (var i = 0; i < groups.Count; i++)
        {
            var group = groups[i].ToList();
            var worst = group.Max(r => r.Urgency);
            var x = X(group[0].Certificate.NotAfter);
            var y = 40 + (i % 3) * 24;
            var label = group.Count == 1 ? Date(group[0].Certificate.NotAfter) : $"{group.Count} × {Date(group[0].Certificate.NotAfter)}";
            page.Raw($"<g class=\"mark urgency-{Name(worst)}\" data-urgency=\"{Name(worst)}\"><title>")
                .Text($"{Date(group[0].Certificate.NotAfter)} ({Days(group.Min(r => r.DaysLeft))}): {string.Join("; ", group.Select(r => r.Certificate.Subject).Distinct().Take(8))}{(group.Count > 8 ? "; …" : "")}")
                .Raw($"</title><line x1=\"{F(x)}\" y1=\"{F(y + 6)}\" x2=\"{F(x)}\" y2=\"{F(axis)}\"/><circle cx=\"{F(x)}\" cy=\"{F(y)}\" r=\"6\"/>")
                // Labels of marks near the right end go to the left of their mark, so none is cut off.
                .Raw(x > width * 0.75 ? $"<text class=\"end\" x=\"{F(x - 9)}\" y=\"{F(y + 4)}\">" : $"<text x=\"{F(x + 9)}\" y=\"{F(y + 4)}\">")
                .Text(label).Raw("</text></g>\n");
        }
        page.Raw("</svg><figcaption>").Text($"Expiry of the {rows.Count} certificates; shaded: the {CriticalDays}- and {WarningDays}-day zones from the report's date.")
            .Raw("</figcaption></figure>\n");
    }

    private static IEnumerable<(DateTimeOffset At, string Label)> Ticks(DateTimeOffset start, DateTimeOffset end)
    {
        var span = (end - start).TotalDays;
        var months = span > 3 * 365 ? 12 : span > 365 ? 3 : 1;
        var t = new DateTimeOffset(start.Year, start.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
        while (months == 12 && t.Month != 1)
            t = t.AddMonths(1);
        for (; t < end; t = t.AddMonths(months))
            yield return (t, t.ToString(months == 12 ? "yyyy" : "yyyy-MM", CultureInfo.InvariantCulture));
    }

    private static void KeyMatrix(Page page, BundleManifest m)
    {
        var keys = m.Nodes.SelectMany(n => n.PrivateKeys).Distinct().Order(StringComparer.Ordinal).ToList();
        page.Section("keys", "Which node holds which private key")
            .Raw("<p>Least privilege at a glance: a mark is a private key the node's bundle carries (contents never shown).</p>\n");
        if (keys.Count == 0)
        {
            page.Raw("<p>No bundle carries a private key.</p>\n</section>\n");
            return;
        }
        // Headers name each key below the folder all of them share (/etc/kubernetes/pki/), the caption names that folder.
        var folder = CommonFolder(keys) is { Length: > 1 } common ? common : "";
        page.Raw("<div class=\"wide\"><table class=\"grid matrix\" id=\"key-matrix\">\n");
        if (folder.Length > 0)
            page.Raw("<caption>Key files under <code>").Text(folder).Raw("</code></caption>\n");
        page.Raw("<thead><tr><th>Node</th>");
        foreach (var key in keys)
            page.Raw("<th scope=\"col\" class=\"key\" title=\"").Text(key).Raw("\"><code>").Text(key[folder.Length..]).Raw("</code></th>");
        page.Raw("</tr></thead>\n<tbody>\n");
        foreach (var n in m.Nodes)
        {
            page.Raw("<tr><th scope=\"row\">").Text(n.Name).Raw("</th>");
            foreach (var key in keys)
                page.Raw(n.PrivateKeys.Contains(key) ? "<td class=\"holds\" title=\"holds this key\">■</td>" : "<td class=\"lacks\" title=\"does not hold this key\">·</td>");
            page.Raw("</tr>\n");
        }
        page.Raw("</tbody>\n</table></div>\n</section>\n");
    }

    /// <summary>The longest folder (ending in '/') every path starts with; "" when they share none.</summary>
    private static string CommonFolder(IReadOnlyList<string> paths)
    {
        var prefix = paths[0][..(paths[0].LastIndexOf('/') + 1)];
        while (prefix.Length > 0 && !paths.All(p => p.StartsWith(prefix, StringComparison.Ordinal)))
            prefix = prefix[..(prefix.TrimEnd('/').LastIndexOf('/') + 1)];
        return prefix;
    }

    private static void Changes(Page page, BuildChanges changes)
    {
        page.Section("changes", "Changes since the previous build").Raw("<p class=\"basis\">").Text(Capitalized(changes.Basis)).Raw(".</p>\n");
        if (changes.Groups.Count == 0 && changes.Basis.StartsWith("compared", StringComparison.Ordinal))
            page.Raw("<p>Nothing changed.</p>\n");
        foreach (var group in changes.Groups)
        {
            page.Raw("<h3>").Text(group.Subject).Raw("</h3>\n<ul class=\"changes\">\n");
            foreach (var line in group.Lines)
            {
                if (line.Contains('\n', StringComparison.Ordinal))
                    page.Raw("<li><pre>").Text(line).Raw("</pre></li>\n");
                else
                    page.Raw("<li>").Text(line).Raw("</li>\n");
            }
            page.Raw("</ul>\n");
        }
        page.Raw("</section>\n");
    }

    private static void Verify(Page page, ReportInput input)
    {
        page.Section("verify", "Check this delivery with stock tools")
            .Raw("<pre>cd artifacts/").Text(input.Manifest.Site.Name).Raw("\n")
            .Raw("openssl pkey -pubin -in signing.pub -outform DER | sha256sum   # = the signing key SHA-256 above, and the key you were given\n")
            .Raw("openssl dgst -sha256 -verify signing.pub -signature SHA256SUMS.sig SHA256SUMS   # Verified OK\n")
            .Raw("sha256sum -c SHA256SUMS   # every line OK: the bundles, manifest.json, sbom.cdx.json, INSTALL.txt and this report\n")
            .Raw("kbundle verify .   ;   kbundle report . --against ../previous-delivery --out /tmp/report.html</pre>\n</section>\n");
    }

    private static string Name(Urgency urgency) => urgency.ToString().ToLowerInvariant();

    private static string Days(int days) => days switch
    {
        < 0 => $"expired {-days} day(s) ago",
        1 => "1 day",
        _ => $"{days} days",
    };

    private static string Date(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.0} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.0} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };

    private static string Capitalized(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    /// <summary>The page being written: raw markup the code itself spells, and <see cref="Text"/> for every value, escaped.</summary>
    private sealed class Page
    {
        private readonly StringBuilder _html = new();

        public static string Escape(string value) => HtmlEncoder.Default.Encode(value);

        public Page Raw(string markup)
        {
            _html.Append(markup);
            return this;
        }

        public Page Text(string value) => Raw(Escape(value));

        public Page Section(string id, string title) => Raw($"<section id=\"{id}\">\n<h2>").Text(title).Raw("</h2>\n");

        public Page Cell(string value) => Raw("<td>").Text(value).Raw("</td>");

        public Page CodeCell(string value) => Raw("<td><code>").Text(value).Raw("</code></td>");

        public Page HashCell(string value) => Raw("<td><code class=\"hash\">").Text(value).Raw("</code></td>");

        public override string ToString() => _html.ToString();
    }

    private const string Css = """
        :root { --ok: #1a7f37; --ok-bg: #dafbe1; --warning: #9a6700; --warning-bg: #fff8c5; --critical: #cf222e; --critical-bg: #ffebe9;
                --expired: #82071e; --expired-bg: #ffcecb; --line: #d0d7de; --muted: #57606a; color-scheme: light; }
        * { box-sizing: border-box; }
        body { margin: 0 auto; max-width: 1400px; padding: 1.5rem; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: #1f2328; background: #fff; }
        h1 { font-size: 1.7rem; margin: 0 0 .3rem; } h2 { font-size: 1.3rem; margin: 2rem 0 .6rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; } h3 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
        .lead { color: var(--muted); margin: 0; }
        nav ol { display: flex; flex-wrap: wrap; gap: .3rem 1rem; list-style: none; padding: .5rem 0; margin: .8rem 0 0; border-top: 1px solid var(--line); border-bottom: 1px solid var(--line); }
        code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: .92em; }
        pre { background: #f6f8fa; padding: .6rem .8rem; overflow-x: auto; white-space: pre-wrap; }
        code.hash, td.url, td.args { word-break: break-all; }
        table { border-collapse: collapse; margin: .4rem 0 1rem; }
        table.grid { width: 100%; }
        table.grid th, table.grid td, table.facts th, table.facts td { border: 1px solid var(--line); padding: .25rem .45rem; text-align: left; vertical-align: top; }
        table.grid thead th { background: #f6f8fa; position: sticky; top: 0; }
        table.facts th { background: #f6f8fa; font-weight: 600; white-space: nowrap; }
        td.num, th.num { text-align: right; white-space: nowrap; }
        ul.plain { list-style: none; margin: 0; padding: 0; }
        .badge { display: inline-block; padding: 0 .45rem; border-radius: 1rem; font-weight: 600; white-space: nowrap; border: 1px solid currentColor; }
        .urgency-ok .badge, .badge.urgency-ok { color: var(--ok); background: var(--ok-bg); }
        .urgency-warning .badge, .badge.urgency-warning { color: var(--warning); background: var(--warning-bg); }
        .urgency-critical .badge, .badge.urgency-critical { color: var(--critical); background: var(--critical-bg); }
        .urgency-expired .badge, .badge.urgency-expired { color: #fff; background: var(--expired); }
        tr.urgency-warning { background: var(--warning-bg); } tr.urgency-critical { background: var(--critical-bg); } tr.urgency-expired { background: var(--expired-bg); }
        tr.urgency-critical > th, tr.urgency-expired > th { border-left: 4px solid var(--critical); }
        figure.timeline { margin: .5rem 0 1rem; } figure.timeline svg { width: 100%; height: auto; max-height: 220px; display: block; }
        figcaption { color: var(--muted); font-size: .9em; }
        svg .zone-critical { fill: var(--critical-bg); } svg .zone-warning { fill: var(--warning-bg); }
        svg .axis, svg .tick { stroke: #57606a; stroke-width: 1; } svg .now { stroke: #1f2328; stroke-dasharray: 4 3; }
        svg text { font-size: 12px; fill: #1f2328; } svg text.end { text-anchor: end; } svg .tick-label { text-anchor: middle; fill: var(--muted); }
        svg .mark line { stroke-width: 1.5; } svg .mark circle { stroke: #fff; stroke-width: 1.5; }
        svg .urgency-ok circle { fill: var(--ok); } svg .urgency-ok line { stroke: var(--ok); }
        svg .urgency-warning circle { fill: var(--warning); } svg .urgency-warning line { stroke: var(--warning); }
        svg .urgency-critical circle { fill: var(--critical); } svg .urgency-critical line { stroke: var(--critical); }
        svg .urgency-expired circle { fill: var(--expired); } svg .urgency-expired line { stroke: var(--expired); }
        .wide { overflow-x: auto; }
        table.matrix td { text-align: center; } table.matrix td.holds { color: #0969da; font-weight: 700; } table.matrix td.lacks { color: #afb8c1; }
        table.matrix th.key { font-weight: 400; font-size: .85em; max-width: 9rem; word-break: break-all; }
        table.matrix caption { caption-side: top; text-align: left; color: var(--muted); padding-bottom: .2rem; }
        td.serial { min-width: 17ch; font-size: .85em; }
        ul.changes li { margin: .15rem 0; } ul.changes pre { margin: .2rem 0; }
        footer { margin-top: 2rem; color: var(--muted); font-size: .9em; border-top: 1px solid var(--line); padding-top: .5rem; }
        @media print {
          @page { size: A4 landscape; margin: 12mm; }
          body { max-width: none; padding: 0; font-size: 10.5px; }
          nav { display: none; }
          * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
          table.grid thead th { position: static; }
          thead { display: table-header-group; } tr, figure { break-inside: avoid; }
          h2 { break-after: avoid; } section { break-inside: auto; }
          a { color: inherit; text-decoration: none; }
          .wide { overflow: visible; }
        }

        """;
}
