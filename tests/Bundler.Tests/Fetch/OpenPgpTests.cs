using Bundler.Configuration;
using Bundler.Fetch;

namespace Bundler.Tests.Fetch;

/// <summary>
/// The verifier against a real upstream signature made with a real release key: runc's v1.4.3 git tag, signed by
/// Aleksa Sarai's ed25519 signing subkey B64E4955…, checked with the key the shipped lock trusts for runc
/// (pins/keys/C9C370B2….asc, from runc.keyring). The tag object is the signed payload (what `git tag -v` checks).
/// </summary>
public sealed class OpenPgpTests
{
    private const string Runc = "C9C370B246B09F6DBCFC744C34401015D1D2D386";
    private static readonly string Tag = TestPaths.TestData("Fetch", "runc-v1.4.3.tag");

    private static OpenPgpKeyFile RuncKey => OpenPgpKeyFile.Load(Path.Combine(ToolPaths.Find("pins"), "keys", Runc + ".asc"));

    [Fact]
    public async Task GivenRuncsSignedReleaseTag_WhenVerifyingWithTheShippedRuncKey_ThenItsSigningSubkeyIsAccepted()
    {
        var signature = await File.ReadAllBytesAsync(Tag + ".asc");

        var signer = await OpenPgp.VerifyAsync(Tag, signature, [RuncKey]);

        Assert.Equal(Runc, signer.Fingerprint);
        Assert.Equal("B64E4955B29FA3D463F2A9062897FAD2B7E9446F", signer.SigningKey);
        Assert.Equal(new DateTime(2026, 6, 13, 17, 13, 57, DateTimeKind.Utc), signer.SignedAt);
    }

    [Fact]
    public async Task GivenTheTagWithOneByteChanged_WhenVerifying_ThenItIsABadSignature()
    {
        using var dir = new TempDir();
        var bytes = await File.ReadAllBytesAsync(Tag);
        bytes[^2] ^= 0x20;
        await File.WriteAllBytesAsync(dir.File("tag"), bytes);

        var error = await Assert.ThrowsAsync<OpenPgpSignatureException>(async () => await OpenPgp.VerifyAsync(dir.File("tag"), await File.ReadAllBytesAsync(Tag + ".asc"), [RuncKey]));

        Assert.Equal($"BAD signature from subkey B64E4955B29FA3D463F2A9062897FAD2B7E9446F of key {Runc}: the file is not what was signed", error.Message);
    }

    [Fact]
    public async Task GivenTheSignatureCheckedAgainstNginxsKey_WhenVerifying_ThenTheRuncKeyIdIsUnknownAndTheAllowedKeyNamed()
    {
        var nginx = OpenPgpKeyFile.Load(Path.Combine(ToolPaths.Find("pins"), "keys", "43387825DDB1BB97EC36BA5D007C8D7C15D87369.asc"));

        var error = await Assert.ThrowsAsync<OpenPgpSignatureException>(async () => await OpenPgp.VerifyAsync(Tag, await File.ReadAllBytesAsync(Tag + ".asc"), [nginx]));

        Assert.Equal("signed by an unknown key B64E4955B29FA3D463F2A9062897FAD2B7E9446F; allowed: 43387825DDB1BB97EC36BA5D007C8D7C15D87369 and their signing subkeys", error.Message);
    }

    [Fact]
    public async Task GivenBytesThatAreNoSignature_WhenVerifying_ThenItSaysSo()
    {
        var error = await Assert.ThrowsAsync<OpenPgpSignatureException>(() => OpenPgp.VerifyAsync(Tag, "<html>404 Not Found</html>"u8.ToArray(), [RuncKey]));

        Assert.StartsWith("not a", error.Message);
    }
}
