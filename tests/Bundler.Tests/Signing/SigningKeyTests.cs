using System.Security.Cryptography;
using Bundler.Layout;
using Bundler.Signing;

namespace Bundler.Tests.Signing;

public sealed class SigningKeyTests
{
    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void GivenAnEmptyState_WhenEnsuredTwice_ThenOneP256KeyIsMadeKeptSecretAndReused()
    {
        using var state = new TempDir("kbundle-signing");

        var first = SigningKey.Ensure(state.Path);
        var second = SigningKey.Ensure(state.Path);

        Assert.Equal(first, second);
        using var key = first.Open();
        Assert.Equal(256, key.KeySize);
        Assert.Equal(NodeFile.Secret, File.GetUnixFileMode(state.File(SigningKey.File)));
        Assert.Equal(first.PublicKeyPem, File.ReadAllText(state.File(SigningKey.PublicFile)));
        Assert.Contains("BEGIN PUBLIC KEY", first.PublicKeyPem, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenAnRsaKeyInState_WhenEnsured_ThenItIsRefusedAsBadState()
    {
        using var state = new TempDir("kbundle-signing");
        using var rsa = RSA.Create(2048);
        File.WriteAllText(state.File(SigningKey.File), rsa.ExportRSAPrivateKeyPem());

        var error = Assert.Throws<UserInputException>(() => SigningKey.Ensure(state.Path));

        Assert.Contains("is not an ECDSA P-256 key", error.Message, StringComparison.Ordinal);
    }
}
