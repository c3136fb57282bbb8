using System.Globalization;
using Bundler.Inspection;
using Bundler.Layout;
using Bundler.Packaging;
using Xunit;

namespace Bundler.Tests.Packaging;

/// <summary>
/// Every build has a serial, kept in state, that grows only when what the build writes changes (SPEC §8, issue 12 item
/// 14): a bundle says which build it is, and an installer can tell an older one from a newer one.
/// </summary>
public sealed class BuildSerialTests : IDisposable
{
    private readonly BundleFixture _fx = new();

    public BuildSerialTests() => Environment.SetEnvironmentVariable("SOURCE_DATE_EPOCH", BundleFixture.Epoch.ToString(CultureInfo.InvariantCulture));

    public void Dispose() => _fx.Dispose();

    private static BundleManifest Manifest(string dir) => BundleManifest.Parse(File.ReadAllBytes(Path.Combine(dir, "manifest.json")), "manifest.json");

    private static string Header(string dir, string node, string key) => BundleReader.Open(Path.Combine(dir, node + ".run")).Fields[key];

    [Fact]
    public async Task GivenRebuilds_ThenTheSerialGrowsOnlyWhenTheOutputChanges()
    {
        await _fx.BuildAsync(_fx.Out("first"));
        await _fx.BuildAsync(_fx.Out("same"));
        _fx.ReplaceUpstream("kubelet", "/usr/bin/du");
        await _fx.BuildAsync(_fx.Out("changed"));
        await _fx.BuildAsync(_fx.Out("changed-again"));

        Assert.Equal(1L, Manifest(_fx.Out("first")).BuildSerial);
        Assert.Equal(1L, Manifest(_fx.Out("same")).BuildSerial);
        Assert.Equal(2L, Manifest(_fx.Out("changed")).BuildSerial);
        Assert.Equal(2L, Manifest(_fx.Out("changed-again")).BuildSerial);
        // Every bundle of a build carries the build's serial, also those whose own bytes did not change (m1 has no kubelet).
        Assert.Equal("1", Header(_fx.Out("first"), "m1", HeaderKeys.BuildSerial));
        Assert.Equal("2", Header(_fx.Out("changed"), "m1", HeaderKeys.BuildSerial));
        Assert.Equal(File.ReadAllBytes(Path.Combine(_fx.Out("first"), "w1.run")), File.ReadAllBytes(Path.Combine(_fx.Out("same"), "w1.run")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(_fx.Out("changed"), "w1.run")), File.ReadAllBytes(Path.Combine(_fx.Out("changed-again"), "w1.run")));
        Assert.Equal("2026-01-01T00:00:00Z", Manifest(_fx.Out("changed")).BuildTime);
    }

    [Fact]
    public async Task GivenABundle_WhenAskedForInfo_ThenItShowsTheBuildSerialAndTime()
    {
        await _fx.BuildAsync();

        var (code, stdout, stderr) = BundleFixture.Run("bash", [Path.Combine(_fx.Out(), "w1.run"), "--info"]);

        Assert.True(code == 0, stderr);
        Assert.Contains("build serial:   1\n", stdout, StringComparison.Ordinal);
        Assert.Contains("built:          2026-01-01T00:00:00Z\n", stdout, StringComparison.Ordinal);
    }
}
