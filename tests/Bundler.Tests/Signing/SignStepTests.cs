using System.Globalization;
using Bundler.Layout;
using Bundler.Signing;
using Bundler.Tests.Packaging;

namespace Bundler.Tests.Signing;

public sealed class SignStepTests : IDisposable
{
    private readonly BundleFixture _fx = new();

    public SignStepTests() => Environment.SetEnvironmentVariable("SOURCE_DATE_EPOCH", BundleFixture.Epoch.ToString(CultureInfo.InvariantCulture));

    public void Dispose() => _fx.Dispose();

    [ToolFact("sha256sum", "openssl")]
    public async Task GivenABuild_WhenAuditorsUseStockTools_ThenSha256sumAndOpensslAcceptIt()
    {
        await _fx.BuildAsync();
        var dir = _fx.Out();

        var sums = BundleFixture.Run("sha256sum", ["-c", "SHA256SUMS"], workDir: dir);
        var sig = BundleFixture.Run("openssl", ["dgst", "-sha256", "-verify", "signing.pub", "-signature", "SHA256SUMS.sig", "SHA256SUMS"], workDir: dir);

        Assert.True(sums.Code == 0, sums.Out + sums.Err);
        Assert.Contains("m1.run: OK", sums.Out, StringComparison.Ordinal);
        Assert.Contains("manifest.json: OK", sums.Out, StringComparison.Ordinal);
        Assert.True(sig.Code == 0, sig.Out + sig.Err);
        Assert.Contains("Verified OK", sig.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAnUnchangedRebuildInPlace_ThenTheSignatureIsKeptAndTheFolderIsUnchanged()
    {
        await _fx.BuildAsync();
        var before = Directory.EnumerateFiles(_fx.Out()).ToDictionary(f => f, File.ReadAllBytes);

        await _fx.BuildAsync();

        Assert.Equal(before.Keys.Order(), Directory.EnumerateFiles(_fx.Out()).Order());
        foreach (var (file, bytes) in before)
            Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(file)), $"{file} changed");
    }

    [Fact]
    public async Task GivenANewerBuild_WhenSigned_ThenSha256sumsIsNewAndItsSignatureVerifiesUnderTheSameKey()
    {
        await _fx.BuildAsync();
        var before = File.ReadAllBytes(Path.Combine(_fx.Out(), BundleLayout.SumsFile));
        _fx.ReplaceUpstream("kubelet", "/usr/bin/du");

        var outputs = await _fx.BuildAsync();

        var sums = File.ReadAllBytes(Path.Combine(_fx.Out(), BundleLayout.SumsFile));
        Assert.False(before.AsSpan().SequenceEqual(sums));
        Assert.Equal(outputs.Sign!.Sums, sums);
        using var key = outputs.Pki!.SigningKey.Open();
        Assert.True(SignStep.Verify(sums, File.ReadAllBytes(Path.Combine(_fx.Out(), BundleLayout.SignatureFile)), key));
        Assert.Equal(outputs.Pki.SigningKey.PublicKeyPem, File.ReadAllText(Path.Combine(_fx.Out(), BundleLayout.PublicKeyFile)));
    }

    [Fact]
    public void GivenAFinishedFolder_WhenItsSignedSumsAreTaken_ThenTheyAreHandedOnAndTheFolderNoLongerLooksFinished()
    {
        var dir = _fx.Out("taken");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, BundleLayout.SumsFile), "sums\n");
        File.WriteAllText(Path.Combine(dir, BundleLayout.SignatureFile), "sig");

        var taken = SignedSums.TakeFrom(dir);

        Assert.Equal("sums\n"u8.ToArray(), taken!.Sums);
        Assert.Equal("sig"u8.ToArray(), taken.Signature);
        Assert.False(File.Exists(Path.Combine(dir, BundleLayout.SumsFile)));
        Assert.False(File.Exists(Path.Combine(dir, BundleLayout.SignatureFile)));
        Assert.Null(SignedSums.TakeFrom(dir));
    }
}
