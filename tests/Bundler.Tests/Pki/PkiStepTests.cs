using System.Text.Json;
using Bundler.Cli;
using Bundler.Configuration;
using Bundler.Pipeline;
using Bundler.Pki;
using Xunit;

namespace Bundler.Tests.Pki;

public sealed class PkiStepTests
{
    [Fact]
    public async Task GivenAnEmptyState_WhenThePkiStepRunsTwice_ThenTheSecondReusesTheCaTheKeysTheSigningKeyAndTheEpoch()
    {
        using var fixture = new PkiFixture();
        var site = PkiFixture.Site();
        var options = new BuildOptions { SitePath = "site.yaml", StateDir = fixture.StateDir };
        var inputs = new BuildInputs(site, LockFile.Load(PinCatalog.Default().FileFor(site.Kubernetes)), options);

        var a = await PkiStep.RunAsync(inputs, new RecordingReporter());
        var reporter = new RecordingReporter();
        var b = await PkiStep.RunAsync(inputs, reporter);

        Assert.Equal(a.Material.CaCertificatePem, b.Material.CaCertificatePem);
        Assert.Equal(a.Material.EncryptionKeyBase64, b.Material.EncryptionKeyBase64);
        Assert.Equal(a.SigningKey, b.SigningKey);
        Assert.Equal(a.SourceDateEpoch, b.SourceDateEpoch);
        Assert.Contains(reporter.Lines, l => l.Contains("reused", StringComparison.Ordinal));
        Assert.NotEmpty(b.Material.PkiFilesFor(site.Node("k8s-04")));
        Assert.Equal(b.SigningKey.PublicKeyPem, File.ReadAllText(Path.Combine(fixture.StateDir, Bundler.Signing.SigningKey.PublicFile)));
    }
}
