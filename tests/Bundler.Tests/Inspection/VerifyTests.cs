using System.Globalization;
using Bundler.Cli;
using Bundler.Tests.Packaging;
using Xunit;

namespace Bundler.Tests.Inspection;

public sealed class VerifyTests : IDisposable
{
    private readonly BundleFixture _fx = new();

    public VerifyTests() => Environment.SetEnvironmentVariable("SOURCE_DATE_EPOCH", BundleFixture.Epoch.ToString(CultureInfo.InvariantCulture));

    public void Dispose() => _fx.Dispose();

    private static (int Code, string Out, string Err) Kbundle(string commandLine)
    {
        var result = Tests.Cli.CliRunner.Run(commandLine.Split(' '));
        return (result.ExitCode, result.Out, result.Error);
    }

    [Fact]
    public async Task GivenAnUntouchedBuild_WhenVerified_ThenEveryCheckPasses()
    {
        await _fx.BuildAsync();

        var (code, stdout, stderr) = Kbundle($"verify {_fx.Out()}");

        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("ok     SHA256SUMS.sig", stdout, StringComparison.Ordinal);
        Assert.Contains("ok     m1.run (header, payload)", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenOneBundle_WhenVerified_ThenItIsCheckedAgainstItsFoldersSignedSums()
    {
        await _fx.BuildAsync();
        var run = Path.Combine(_fx.Out(), "w1.run");

        var (code, stdout, stderr) = Kbundle($"verify {run}");
        Tamper("payload-byte");
        var tampered = Kbundle($"verify {run}");

        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("ok     SHA256SUMS.sig", stdout, StringComparison.Ordinal);
        Assert.Contains("ok     w1.run: sha256 matches SHA256SUMS", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("m1.run", stdout, StringComparison.Ordinal);
        Assert.Equal(4, tampered.Code);
        Assert.Contains("FAILED w1.run", tampered.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAFolder_WhenVerifiedWithItsOwnKey_ThenTheKeysFingerprintIsPrintedWithAWarning()
    {
        await _fx.BuildAsync();
        using var key = System.Security.Cryptography.ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(Path.Combine(_fx.Out(), "signing.pub")));
        var fingerprint = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(key.ExportSubjectPublicKeyInfo()));
        var trusted = Path.Combine(_fx.Root, "trusted.pub");
        File.Copy(Path.Combine(_fx.Out(), "signing.pub"), trusted);

        var own = Kbundle($"verify {_fx.Out()}");
        var given = Kbundle($"verify {_fx.Out()} --pubkey {trusted}");

        Assert.Equal(0, own.Code);
        Assert.Contains($"signing key sha256:{fingerprint}", own.Out, StringComparison.Ordinal);
        Assert.Contains("warning: ", own.Err, StringComparison.Ordinal);
        Assert.Contains("signing.pub inside the folder", own.Err, StringComparison.Ordinal);
        Assert.Equal(0, given.Code);
        Assert.Contains($"signing key sha256:{fingerprint}", given.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("warning", given.Err, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string> Tampers => new()
    {
        { "payload-byte", "w1.run", "payload modified" },
        { "header-byte", "w1.run", "header modified" },
        { "truncated", "w1.run", "truncated" },
        { "swapped-signature", "SHA256SUMS.sig", "signature does not match" },
        { "manifest-edit", "manifest.json", "manifest.json: sha256 is" },
    };

    [Theory]
    [MemberData(nameof(Tampers))]
    public async Task GivenATamperedBuild_WhenVerified_ThenExit4NamesWhatFailed(string tamper, string file, string message)
    {
        await _fx.BuildAsync();
        Tamper(tamper);

        var (code, _, stderr) = Kbundle($"verify {_fx.Out()}");

        Assert.Equal(4, code);
        Assert.Contains("FAILED " + file, stderr, StringComparison.Ordinal);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("payload-byte", "payload was modified")]
    [InlineData("header-byte", "header was modified")]
    [InlineData("truncated", "truncated")]
    public async Task GivenATamperedBundle_WhenItChecksItself_ThenExit4SaysWhat(string tamper, string message)
    {
        await _fx.BuildAsync();
        Tamper(tamper);

        var (code, _, stderr) = BundleFixture.Run("bash", [Path.Combine(_fx.Out(), "w1.run"), "--check"]);

        Assert.Equal(4, code);
        Assert.Contains("integrity check failed", stderr, StringComparison.Ordinal);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAnotherPublicKey_WhenVerifiedWithIt_ThenTheSignatureFails()
    {
        await _fx.BuildAsync();
        using var other = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var pub = Path.Combine(_fx.Root, "other.pub");
        File.WriteAllText(pub, other.ExportSubjectPublicKeyInfoPem());

        var (code, _, stderr) = Kbundle($"verify {_fx.Out()} --pubkey {pub}");

        Assert.Equal(4, code);
        Assert.Contains("signature does not match SHA256SUMS under " + pub, stderr, StringComparison.Ordinal);
    }

    private void Tamper(string how)
    {
        var run = Path.Combine(_fx.Out(), "w1.run");
        var bytes = File.ReadAllBytes(run);
        var headerSize = Bundler.Inspection.BundleReader.Open(run).HeaderBytes.Length;
        switch (how)
        {
            case "payload-byte":
                bytes[headerSize + (bytes.Length - headerSize) / 2] ^= 0x01;
                File.WriteAllBytes(run, bytes);
                break;
            case "header-byte":
                // A letter inside a comment near the end of the script: still valid bash, so only the hash can tell.
                var at = System.Text.Encoding.ASCII.GetString(bytes, 0, headerSize).LastIndexOf("# Deepest folders first", StringComparison.Ordinal) + 2;
                bytes[at] ^= 0x20;
                File.WriteAllBytes(run, bytes);
                break;
            case "truncated":
                File.WriteAllBytes(run, bytes[..^4096]);
                break;
            case "swapped-signature":
                using (var key = _fx.Last!.Pki!.SigningKey.Open())
                {
                    var sig = Bundler.Signing.SignStep.Sign("something else"u8.ToArray(), key);
                    File.WriteAllBytes(Path.Combine(_fx.Out(), "SHA256SUMS.sig"), sig);
                }
                break;
            case "manifest-edit":
                var manifest = Path.Combine(_fx.Out(), "manifest.json");
                File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"lab\"", "\"lab2\"", StringComparison.Ordinal));
                break;
        }
    }
}
