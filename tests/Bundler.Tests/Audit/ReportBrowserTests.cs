using System.Globalization;
using Bundler.Packaging;
using Bundler.Tests.Packaging;
using Microsoft.Playwright;

namespace Bundler.Tests.Audit;

/// <summary>
/// report.html in a real browser: Debian's chromium, headless, driven by Playwright (which cannot download a browser of
/// its own here). The build behind it is real and a year old: its CA has 20 days left, so every certificate it capped
/// must be marked, while the front-proxy CA made afresh must not be. Screenshots are kept in
/// artifacts/test-results/audit/ (with the page itself), beside the test results.
/// </summary>
public sealed class ReportBrowserTests : IDisposable
{
    private const string SiteWithShortCa = "pki:\n  keyAlgorithm: ecdsa-p256\n  caValidityDays: 400\n";

    /// <summary>How headless chromium runs on this kind of machine (no sandbox as root; nothing that phones home).</summary>
    private static readonly string[] ChromiumArgs =
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

    private readonly BundleFixture _fx = new();

    public ReportBrowserTests() => Environment.SetEnvironmentVariable("SOURCE_DATE_EPOCH", BundleFixture.Epoch.ToString(CultureInfo.InvariantCulture));

    public void Dispose() => _fx.Dispose();

    private static string Kept(string name)
    {
        var dir = Path.Combine(TestPaths.Repository, "artifacts", "test-results", "audit");
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }

    /// <summary>A build at <see cref="BundleFixture.Now"/>, then the same site 380 days later with the front-proxy CA rotated.</summary>
    private async Task<(string Report, BundleManifest Manifest)> BuildAYearLaterAsync()
    {
        _fx.SiteYaml = _fx.SiteYaml.Replace("pki:\n  keyAlgorithm: ecdsa-p256\n", SiteWithShortCa, StringComparison.Ordinal);
        ImagePins.Ensure(_fx);
        await _fx.BuildAsync();
        foreach (var file in Directory.EnumerateFiles(_fx.State, "front-proxy-*"))
            File.Delete(file);
        await _fx.BuildAsync(now: BundleFixture.Now.AddDays(380));
        var report = Path.Combine(_fx.Out(), "report.html");
        File.Copy(report, Kept("report.html"), overwrite: true);
        return (report, BundleManifest.Parse(File.ReadAllBytes(Path.Combine(_fx.Out(), "manifest.json")), "manifest.json"));
    }

    [ToolFact("chromium")]
    public async Task GivenAYearOldBuildWhoseCaEndsIn20Days_WhenItsReportOpensInHeadlessChromium_ThenItRendersOfflineWithEveryNodeCertificateAndTheUrgentOnesMarked()
    {
        var (report, manifest) = await BuildAYearLaterAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = ProcessRunner.Find("chromium"), Args = ChromiumArgs });
        var context = await browser.NewContextAsync(new() { ViewportSize = new() { Width = 1400, Height = 1000 } });
        var offsite = new List<string>();
        await context.RouteAsync("**/*", async route =>
        {
            if (route.Request.Url.StartsWith("file:", StringComparison.Ordinal))
                await route.ContinueAsync();
            else
            {
                lock (offsite) offsite.Add(route.Request.Url);
                await route.AbortAsync();
            }
        });
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, message) => { if (message.Type is "error" or "warning") lock (errors) errors.Add($"{message.Type}: {message.Text}"); };
        page.PageError += (_, error) => { lock (errors) errors.Add("page error: " + error); };
        var requests = new List<string>();
        page.Request += (_, request) => { lock (requests) requests.Add(request.Url); };

        await page.GotoAsync(new Uri(report).AbsoluteUri, new() { WaitUntil = WaitUntilState.Load });
        await page.ScreenshotAsync(new() { Path = Kept("report.png"), FullPage = true });

        Assert.Empty(errors);
        Assert.Empty(offsite);
        Assert.Equal([new Uri(report).AbsoluteUri], requests);
        Assert.Equal(manifest.Nodes.Select(n => n.Name), await page.Locator("#node-table tr.node").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.node)"));
        var certificates = manifest.Nodes.SelectMany(n => n.Certificates).DistinctBy(c => (c.Issuer, c.SerialNumber)).ToList();
        Assert.Equal(certificates.Count, await page.Locator("#certificate-table tr.cert").CountAsync());

        var timeline = page.Locator("#expiry-timeline");
        Assert.True(await timeline.IsVisibleAsync());
        var box = await timeline.BoundingBoxAsync();
        Assert.True(box is { Width: > 600, Height: > 80 }, $"timeline box {box?.Width}x{box?.Height}");
        Assert.True(await timeline.Locator(".mark").CountAsync() >= 2);
        await timeline.ScreenshotAsync(new() { Path = Kept("timeline.png") });

        // Every certificate the old CA capped has 20 days left: marked critical, red; the rotated front-proxy pair is not.
        var now = BundleFixture.Now.AddDays(380);
        var urgent = certificates.Where(c => (c.NotAfter - now).TotalDays <= 30).ToList();
        Assert.NotEmpty(urgent);
        Assert.Contains(certificates, c => c.Subject.Contains("front-proxy", StringComparison.Ordinal) && (c.NotAfter - now).TotalDays > 300);
        var critical = page.Locator("#certificate-table tr.cert[data-urgency=critical]");
        Assert.Equal(urgent.Count, await critical.CountAsync());
        Assert.All(await critical.EvaluateAllAsync<int[]>("rows => rows.map(r => Number(r.dataset.daysLeft))"), days => Assert.InRange(days, 0, 30));
        Assert.Equal("rgb(255, 235, 233)", await critical.First.EvaluateAsync<string>("r => getComputedStyle(r).backgroundColor"));
        Assert.Contains("20 days", await critical.First.InnerTextAsync(), StringComparison.Ordinal);
        var ok = page.Locator("#certificate-table tr.cert[data-urgency=ok]");
        Assert.Equal(certificates.Count - urgent.Count, await ok.CountAsync());
        Assert.NotEqual("rgb(255, 235, 233)", await ok.First.EvaluateAsync<string>("r => getComputedStyle(r).backgroundColor"));
        Assert.True(await timeline.Locator(".mark[data-urgency=critical]").CountAsync() >= 1);
    }

    [ToolFact("chromium")]
    public async Task GivenThatReport_WhenJavaScriptIsDisabled_ThenItStillReadsAndPrintsWholeWithNothingFetched()
    {
        var (report, manifest) = await BuildAYearLaterAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = ProcessRunner.Find("chromium"), Args = ChromiumArgs });
        var context = await browser.NewContextAsync(new() { JavaScriptEnabled = false, ViewportSize = new() { Width = 1400, Height = 1000 } });
        var requests = new List<string>();
        await context.RouteAsync("**/*", async route =>
        {
            lock (requests) requests.Add(route.Request.Url);
            if (route.Request.Url.StartsWith("file:", StringComparison.Ordinal))
                await route.ContinueAsync();
            else
                await route.AbortAsync();
        });
        var page = await context.NewPageAsync();

        await page.GotoAsync(new Uri(report).AbsoluteUri);
        await page.ScreenshotAsync(new() { Path = Kept("report-no-javascript.png"), FullPage = true });
        await page.EmulateMediaAsync(new() { Media = Media.Print });
        var pdf = await page.PdfAsync(new() { Path = Kept("report.pdf"), PrintBackground = true });

        Assert.Equal([new Uri(report).AbsoluteUri], requests);
        Assert.Equal(manifest.Nodes.Count, await page.Locator("#node-table tr.node").CountAsync());
        Assert.Contains("Audit report: site lab", await page.Locator("h1").InnerTextAsync(), StringComparison.Ordinal);
        Assert.True(await page.Locator("#expiry-timeline").IsVisibleAsync());
        Assert.True(await page.Locator("#certificate-table tr.cert[data-urgency=critical]").CountAsync() > 0);
        foreach (var section in new[] { "summary", "install", "nodes", "components", "images", "certificates", "keys", "changes" })
            Assert.True(await page.Locator($"section#{section}").IsVisibleAsync(), section);
        Assert.False(await page.Locator("nav").IsVisibleAsync());
        Assert.True(pdf.Length > 10_000);
        Assert.StartsWith("%PDF", System.Text.Encoding.ASCII.GetString(pdf, 0, 4), StringComparison.Ordinal);
    }
}
