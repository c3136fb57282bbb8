using Bundler.Configuration;

namespace Bundler.Tests.Configuration;

/// <summary>
/// The lock's <c>signature:</c> field (SPEC §5) is validated like every other field: each problem at its
/// file:line:column, exit 2, before anything is fetched. Keys are the shipped upstream keys of pins/keys/.
/// </summary>
public sealed class LockSignatureTests : IDisposable
{
    private const string Runc = "C9C370B246B09F6DBCFC744C34401015D1D2D386";
    private const string Arut = "43387825DDB1BB97EC36BA5D007C8D7C15D87369";
    private const string Sha256 = "f6ae8efc0fa40079e1475e97cbe9d1bd3f106a28d6af78a11d9f1bd565515e60";
    private readonly TempDir _dir = new();

    public LockSignatureTests()
    {
        Directory.CreateDirectory(_dir.File("keys"));
        File.Copy(ShippedKey(Runc), _dir.File("keys", Runc + ".asc"));
    }

    public void Dispose() => _dir.Dispose();

    private static string ShippedKey(string fingerprint) => Path.Combine(ToolPaths.Find("pins"), "keys", fingerprint + ".asc");

    /// <summary>A lock with one runc entry whose last line is <paramref name="signature"/> (line 9).</summary>
    private LockFile Load(string signature)
    {
        var path = _dir.File("lock.yaml");
        File.WriteAllText(path, "kubernetes: 1.36.0\nartifacts:\n  - name: runc\n    version: 1.4.3\n    arch: amd64\n" +
                                $"    url: https://example.org/runc.amd64\n    sha256: {Sha256}\n    install: /opt/k8s/bin/runc\n{signature}\n");
        return LockFile.Load(path);
    }

    public static TheoryData<string, string> BadSignatures => new()
    {
        { $"    signature: {{ url: ftp://example.org/runc.asc, keys: [{Runc}] }}", "lock.yaml:9:23 artifacts[0].signature.url: 'ftp://example.org/runc.asc' is not an http(s) URL of a file" },
        { $"    signature: {{ keys: [{Runc}] }}", "lock.yaml:9:16 artifacts[0].signature.url: is required" },
        { "    signature: { url: https://example.org/runc.asc, keys: [] }", "lock.yaml:9:59 artifacts[0].signature.keys: lists no key" },
        { $"    signature: {{ url: https://example.org/runc.asc, keys: [{Runc.ToLowerInvariant()}] }}", $"artifacts[0].signature.keys[0]: '{Runc.ToLowerInvariant()}' is not an OpenPGP fingerprint; write it in upper case: {Runc}" },
        { "    signature: { url: https://example.org/runc.asc, keys: [34401015D1D2D386] }", "lock.yaml:9:60 artifacts[0].signature.keys[0]: '34401015D1D2D386' is not an OpenPGP fingerprint; allowed: the primary key's fingerprint, 40 upper-case hex digits" },
        { $"    signature: {{ url: https://example.org/runc.asc, keys: [{Runc}, {Runc}] }}", $"artifacts[0].signature.keys[1]: {Runc} is listed twice" },
        { $"    signature: {{ url: https://example.org/runc.asc, key: [{Runc}] }}", "lock.yaml:9:53 artifacts[0].signature.key: unknown key; did you mean 'keys'?" },
        { "    signature: https://example.org/runc.asc", "lock.yaml:9:16 artifacts[0].signature: must be a mapping" },
        { $"    signature: {{ url: https://example.org/runc.asc, keys: [{Arut}] }}", $"lock.yaml:9:60 artifacts[0].signature.keys[0]: no key file " },
    };

    [Theory]
    [MemberData(nameof(BadSignatures))]
    public void GivenABadSignatureField_WhenLoadingTheLock_ThenTheErrorNamesFileLineColumnAndField(string signature, string expected)
    {
        var error = Assert.Throws<UserInputException>(() => Load(signature));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void GivenAKeyFileNamedAfterAnotherFingerprint_WhenLoading_ThenItIsRefusedNamingBoth()
    {
        File.Copy(ShippedKey(Runc), _dir.File("keys", Arut + ".asc"));

        var error = Assert.Throws<UserInputException>(() => Load($"    signature: {{ url: https://example.org/runc.asc, keys: [{Arut}] }}"));

        Assert.Contains($"artifacts[0].signature.keys[0]: {_dir.File("keys", Arut + ".asc")} holds key {Runc}, not the key its name says", error.Message);
    }

    [Fact]
    public void GivenAKeyFileThatIsNoKey_WhenLoading_ThenItIsRefused()
    {
        File.WriteAllText(_dir.File("keys", Arut + ".asc"), "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbm90IGEga2V5\n-----END PGP PUBLIC KEY BLOCK-----\n");

        var error = Assert.Throws<UserInputException>(() => Load($"    signature: {{ url: https://example.org/runc.asc, keys: [{Arut}] }}"));

        Assert.Contains($"artifacts[0].signature.keys[0]: {_dir.File("keys", Arut + ".asc")}: not an OpenPGP public key", error.Message);
    }

    [Fact]
    public void GivenAGoodSignatureField_WhenLoading_ThenTheArtifactCarriesUrlKeysAndTheMirrorFileName()
    {
        var lockFile = Load($"    signature: {{ url: https://example.org/v1/runc.amd64.asc, keys: [{Runc}] }}");

        var signature = Assert.Single(lockFile.Artifacts).Signature;
        Assert.NotNull(signature);
        Assert.Equal("https://example.org/v1/runc.amd64.asc", signature.Url);
        Assert.Equal([Runc], signature.Keys);
        Assert.Equal("runc.amd64.asc", signature.FileName);
        Assert.Equal(_dir.File("keys", Runc + ".asc"), signature.KeyFile(Runc));
    }

    [Fact]
    public void GivenTheShippedLock_WhenLoading_ThenRuncAndNginxCarryUpstreamSignaturesWhoseKeyFilesAreShipped()
    {
        var lockFile = LockFile.Load(Path.Combine(ToolPaths.Find("pins"), "1.36.0.yaml"));

        var signed = lockFile.Artifacts.Where(a => a.Signature is not null).ToDictionary(a => $"{a.Name} {a.Arch}", a => a.Signature!);
        Assert.Equal(["nginx any", "runc amd64", "runc arm64"], signed.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("https://github.com/opencontainers/runc/releases/download/v1.4.3/runc.arm64.asc", signed["runc arm64"].Url);
        Assert.Equal([Runc], signed["runc amd64"].Keys);
        Assert.Equal("https://nginx.org/download/nginx-1.30.3.tar.gz.asc", signed["nginx any"].Url);
        Assert.Contains(Arut, signed["nginx any"].Keys);
        Assert.All(signed.Values.SelectMany(s => s.Keys.Select(s.KeyFile)), file => Assert.True(File.Exists(file), file));
    }
}
