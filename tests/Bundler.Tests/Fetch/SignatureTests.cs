using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Tests.Cli;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace Bundler.Tests.Fetch;

/// <summary>
/// Keys made once per test class by the real GnuPG, shaped like the two upstreams the shipped lock trusts: an RSA
/// key that signs with its primary key (nginx's release managers) and an ed25519 certification-only key that
/// signs with a subkey (runc's keyring); plus a key the lock never lists.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SignatureKeys : IAsyncLifetime
{
    public GnuPg Gpg { get; } = new();
    public string Release { get; private set; } = "";
    public string WithSubkey { get; private set; } = "";
    public string Subkey { get; private set; } = "";
    public string Stranger { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (!GnuPg.Installed)
        {
            // Outside CI every test here is skipped (GnuPgFact); under CI a missing GnuPG must fail, and say why.
            if (Environment.GetEnvironmentVariable("CI") == "true")
                throw new InvalidOperationException("CI=true but gpg or gpg-agent is not installed: .ci/run must install the apt packages gpg and gpg-agent");
            return;
        }
        Release = await Gpg.NewKeyAsync("Release Manager <release@example.org>", "rsa2048", "sign");
        WithSubkey = await Gpg.NewKeyAsync("Subkey Signer <subkey@example.org>", "ed25519", "cert");
        Subkey = await Gpg.AddSigningSubkeyAsync(WithSubkey);
        Stranger = await Gpg.NewKeyAsync("Someone Else <stranger@example.org>", "ed25519", "sign");
    }

    public Task DisposeAsync()
    {
        Gpg.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// OpenPGP detached signatures on fetch (SPEC §5), end to end: keys and signatures by GnuPG, artifact and .asc served
/// by a loopback HTTP server (or a mirror folder), the real fetch step or a literal `kbundle build --until fetch`.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SignatureTests(SignatureKeys keys) : IClassFixture<SignatureKeys>, IDisposable
{
    private static readonly byte[] Archive = FetchWorld.EtcdArchive();
    private readonly FetchWorld _world = new();

    public void Dispose() => _world.Dispose();

    private GnuPg Gpg => keys.Gpg;

    /// <summary>Publishes a key the way the lock expects it: keys/&lt;FINGERPRINT&gt;.asc beside the lock.</summary>
    private async Task TrustAsync(string fingerprint, string? exportOf = null)
    {
        Directory.CreateDirectory(Path.Combine(_world.Root, "keys"));
        await File.WriteAllTextAsync(Path.Combine(_world.Root, "keys", fingerprint + ".asc"), await Gpg.ExportAsync(exportOf ?? fingerprint));
    }

    private static string SignedEntry(string url, string checksum, string signatureUrl, params string[] fingerprints) =>
        FetchWorld.EtcdLockEntry(url, checksum) + $"    signature: {{ url: {signatureUrl}, keys: [{string.Join(", ", fingerprints)}] }}\n";

    private static TestHttpServer Serve(byte[] archive, byte[] signature) =>
        new(TestHttpServer.Files(new Dictionary<string, byte[]> { ["/etcd.tar.gz"] = archive, ["/etcd.tar.gz.asc"] = signature }));

    private CliRunner.Result BuildUntilFetch(string lockPath, params string[] extra) =>
        CliRunner.Run(["build", _world.WriteSite(), "--pins", lockPath, "--cache", _world.CacheDir, "--out", _world.OutDir, "--until", "fetch", .. extra]);

    [GnuPgFact]
    public async Task GivenAnArchiveSignedByTheListedKey_WhenBuildingUntilFetch_ThenExit0AndTheSignerIsReported()
    {
        await TrustAsync(keys.Release);
        await using var server = Serve(Archive, await Gpg.SignAsync(keys.Release, Archive));
        var lockPath = _world.WriteLock(SignedEntry($"{server.BaseUrl}/etcd.tar.gz", FetchWorld.Sha256(Archive), $"{server.BaseUrl}/etcd.tar.gz.asc", keys.Release));

        var result = BuildUntilFetch(lockPath);

        Assert.True(result.ExitCode == ExitCodes.Success, result.All);
        Assert.Contains($"etcd 9.0.0 amd64: good OpenPGP signature by {keys.Release}, made ", result.Out);
        Assert.Contains(server.Requests, r => r.Path == "/etcd.tar.gz.asc");
    }

    [GnuPgFact]
    public async Task GivenAKeyThatSignsWithASubkey_WhenFetching_ThenItVerifiesAndTheRecordNamesThePrimaryFingerprint()
    {
        await TrustAsync(keys.WithSubkey);
        await using var server = Serve(Archive, await Gpg.SignAsync(keys.Subkey, Archive));
        var lockPath = _world.WriteLock(SignedEntry($"{server.BaseUrl}/etcd.tar.gz", FetchWorld.Sha256(Archive), $"{server.BaseUrl}/etcd.tar.gz.asc", keys.WithSubkey));

        var result = await _world.FetchAsync(lockPath);

        Assert.Equal(keys.WithSubkey, Assert.Single(result.Artifacts).SignedBy);
        Assert.Contains(_world.Reporter.Lines, l => l.StartsWith($"etcd 9.0.0 amd64: good OpenPGP signature by {keys.WithSubkey} (subkey {keys.Subkey})", StringComparison.Ordinal));
        Assert.Single(Directory.EnumerateFiles(Path.Combine(_world.CacheDir, "signatures")));
    }

    [GnuPgFact]
    public async Task GivenASignatureByAKeyTheLockDoesNotList_WhenBuilding_ThenExit4NamesArtifactUrlSignerAndAllowedKeys()
    {
        await TrustAsync(keys.Release);
        await using var server = Serve(Archive, await Gpg.SignAsync(keys.Stranger, Archive));
        var signatureUrl = $"{server.BaseUrl}/etcd.tar.gz.asc";
        var lockPath = _world.WriteLock(SignedEntry($"{server.BaseUrl}/etcd.tar.gz", FetchWorld.Sha256(Archive), signatureUrl, keys.Release));

        var result = BuildUntilFetch(lockPath);

        Assert.Equal(ExitCodes.IntegrityError, result.ExitCode);
        Assert.Contains($"etcd 9.0.0 amd64: the OpenPGP signature {signatureUrl} does not verify", result.Error);
        Assert.Contains($"signed by an unknown key {keys.Stranger}; allowed: {keys.Release} and their signing subkeys", result.Error);
        Assert.False(Directory.Exists(Path.Combine(_world.CacheDir, "signatures")), "a signature that failed must not be cached");
        Assert.Single(_world.Quarantined());
    }

    [GnuPgFact]
    public async Task GivenATamperedArchiveWhoseChecksumTheLockPins_WhenBuilding_ThenTheSignatureAloneCatchesItWithExit4()
    {
        // The lock was written from the tampered bytes, so the checksum passes: only the upstream signature can tell.
        var tampered = FetchWorld.EtcdArchive(marker: " with a backdoor");
        await TrustAsync(keys.Release);
        await using var server = Serve(tampered, await Gpg.SignAsync(keys.Release, Archive));
        var lockPath = _world.WriteLock(SignedEntry($"{server.BaseUrl}/etcd.tar.gz", FetchWorld.Sha256(tampered), $"{server.BaseUrl}/etcd.tar.gz.asc", keys.Release));

        var result = BuildUntilFetch(lockPath);

        Assert.Equal(ExitCodes.IntegrityError, result.ExitCode);
        Assert.Contains($"BAD signature from key {keys.Release}: the file is not what was signed", result.Error);
        Assert.DoesNotContain("checksum mismatch", result.Error);
        Assert.Equal(Path.Combine(_world.CacheDir, "sha256", FetchWorld.Sha256(tampered)), Assert.Single(_world.CacheEntries()));
    }

    [GnuPgFact]
    public async Task GivenATamperedSignature_WhenBuilding_ThenExit4BadSignature()
    {
        await TrustAsync(keys.Release);
        var signature = FlipLastByte(await Gpg.SignAsync(keys.Release, Archive));
        await using var server = Serve(Archive, signature);
        var lockPath = _world.WriteLock(SignedEntry($"{server.BaseUrl}/etcd.tar.gz", FetchWorld.Sha256(Archive), $"{server.BaseUrl}/etcd.tar.gz.asc", keys.Release));

        var result = BuildUntilFetch(lockPath);

        Assert.Equal(ExitCodes.IntegrityError, result.ExitCode);
        Assert.Contains($"BAD signature from key {keys.Release}", result.Error);
    }

    [GnuPgFact]
    public async Task GivenAListedKeyWithoutItsFile_WhenBuilding_ThenExit2NamesThePlaceAndNothingIsDownloaded()
    {
        await using var server = Serve(Archive, await Gpg.SignAsync(keys.Release, Archive));
        var lockPath = _world.WriteLock(SignedEntry($"{server.BaseUrl}/etcd.tar.gz", FetchWorld.Sha256(Archive), $"{server.BaseUrl}/etcd.tar.gz.asc", keys.Release));

        var result = BuildUntilFetch(lockPath);

        var line = Array.FindIndex(File.ReadAllLines(lockPath), l => l.Contains("signature:", StringComparison.Ordinal)) + 1;
        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        Assert.Contains($"lock.yaml:{line}:", result.Error);
        Assert.Contains($"artifacts[0].signature.keys[0]: no key file {Path.Combine(_world.Root, "keys", keys.Release + ".asc")}", result.Error);
        Assert.Empty(server.Requests);
    }

    [GnuPgFact]
    public async Task GivenAKeyFileHoldingAnotherKeyThanItsName_WhenBuilding_ThenExit2()
    {
        await TrustAsync(keys.Release, exportOf: keys.Stranger);
        await using var server = Serve(Archive, await Gpg.SignAsync(keys.Stranger, Archive));
        var lockPath = _world.WriteLock(SignedEntry($"{server.BaseUrl}/etcd.tar.gz", FetchWorld.Sha256(Archive), $"{server.BaseUrl}/etcd.tar.gz.asc", keys.Release));

        var result = BuildUntilFetch(lockPath);

        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        Assert.Contains($"{keys.Release}.asc holds key {keys.Stranger}, not the key its name says", result.Error);
        Assert.Empty(server.Requests);
    }

    [GnuPgFact]
    public async Task GivenAWarmCache_WhenFetchingAgain_ThenNothingIsDownloadedYetTheSignatureIsCheckedAgainstTheLockAgain()
    {
        await TrustAsync(keys.Release);
        await TrustAsync(keys.Stranger);
        await using var server = Serve(Archive, await Gpg.SignAsync(keys.Release, Archive));
        var entry = (string key) => SignedEntry($"{server.BaseUrl}/etcd.tar.gz", FetchWorld.Sha256(Archive), $"{server.BaseUrl}/etcd.tar.gz.asc", key);
        await _world.FetchAsync(_world.WriteLock(entry(keys.Release)));
        var requests = server.Requests.Count;

        var warm = await _world.FetchAsync(_world.WriteLock(entry(keys.Release)), offline: true);
        var otherKey = await Assert.ThrowsAsync<IntegrityException>(() => _world.FetchAsync(_world.WriteLock(entry(keys.Stranger)), offline: true));

        Assert.Equal(requests, server.Requests.Count);
        Assert.Equal(keys.Release, Assert.Single(warm.Artifacts).SignedBy);
        Assert.Contains($"signed by an unknown key {keys.Release}; allowed: {keys.Stranger}", otherKey.Message);
        Assert.Contains("(read from the cache", otherKey.Message);
    }

    [GnuPgFact]
    public async Task GivenOfflineAndAMirrorFolderWithTheArchiveAndItsSignature_WhenBuilding_ThenItVerifiesByFileName()
    {
        await TrustAsync(keys.Release);
        var mirror = Directory.CreateDirectory(Path.Combine(_world.Root, "mirror")).FullName;
        await File.WriteAllBytesAsync(Path.Combine(mirror, "release.tar.gz"), Archive);
        await File.WriteAllBytesAsync(Path.Combine(mirror, "release.tar.gz.asc"), await Gpg.SignAsync(keys.Release, Archive));
        var lockPath = _world.WriteLock(SignedEntry("https://example.invalid/release.tar.gz", FetchWorld.Sha256(Archive), "https://example.invalid/sigs/release.tar.gz.asc", keys.Release));

        var result = BuildUntilFetch(lockPath, "--mirror", mirror, "--offline");

        Assert.True(result.ExitCode == ExitCodes.Success, result.All);
        Assert.Contains($"good OpenPGP signature by {keys.Release}", result.Out);
    }

    [GnuPgFact]
    public async Task GivenOfflineAndAMirrorFolderWithoutTheSignature_WhenBuilding_ThenExit2NamesTheMissingSignature()
    {
        await TrustAsync(keys.Release);
        var mirror = Directory.CreateDirectory(Path.Combine(_world.Root, "mirror")).FullName;
        await File.WriteAllBytesAsync(Path.Combine(mirror, "release.tar.gz"), Archive);
        var lockPath = _world.WriteLock(SignedEntry("https://example.invalid/release.tar.gz", FetchWorld.Sha256(Archive), "https://example.invalid/release.tar.gz.asc", keys.Release));

        var result = BuildUntilFetch(lockPath, "--mirror", mirror, "--offline");

        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        Assert.Contains("etcd 9.0.0 amd64 signature: release.tar.gz.asc (https://example.invalid/release.tar.gz.asc)", result.Error);
    }

    [GnuPgFact]
    public async Task GivenASignatureByASubkeyRevokedSince_WhenFetching_ThenItIsRefused()
    {
        using var gpg = new GnuPg();
        var primary = await gpg.NewKeyAsync("Revoking Signer <revoked@example.org>", "ed25519", "cert");
        var subkey = await gpg.AddSigningSubkeyAsync(primary);
        var signature = await gpg.SignAsync(subkey, Archive);
        await gpg.RevokeFirstSubkeyAsync(primary);
        Directory.CreateDirectory(Path.Combine(_world.Root, "keys"));
        await File.WriteAllTextAsync(Path.Combine(_world.Root, "keys", primary + ".asc"), await gpg.ExportAsync(primary));
        await using var server = Serve(Archive, signature);
        var lockPath = _world.WriteLock(SignedEntry($"{server.BaseUrl}/etcd.tar.gz", FetchWorld.Sha256(Archive), $"{server.BaseUrl}/etcd.tar.gz.asc", primary));

        var error = await Assert.ThrowsAsync<IntegrityException>(() => _world.FetchAsync(lockPath));

        Assert.Contains($"subkey {subkey} of key {primary} is revoked", error.Message);
    }

    [GnuPgFact]
    public async Task GivenAKeyThatExpiredAfterItSigned_WhenFetching_ThenTheSignatureStillCounts()
    {
        // As gpg --verify: what matters is that the key was valid when it signed (old releases stay verifiable).
        using var gpg = new GnuPg();
        var key = await gpg.NewKeyAsync("Expired Signer <expired@example.org>", "ed25519", "sign", expires: "2021-01-01", fakedTime: "20200101T000000");
        var signature = await gpg.SignAsync(key, Archive, fakedTime: "20200601T000000");
        Directory.CreateDirectory(Path.Combine(_world.Root, "keys"));
        await File.WriteAllTextAsync(Path.Combine(_world.Root, "keys", key + ".asc"), await gpg.ExportAsync(key));
        await using var server = Serve(Archive, signature);
        var lockPath = _world.WriteLock(SignedEntry($"{server.BaseUrl}/etcd.tar.gz", FetchWorld.Sha256(Archive), $"{server.BaseUrl}/etcd.tar.gz.asc", key));

        var result = await _world.FetchAsync(lockPath);

        Assert.Equal(key, Assert.Single(result.Artifacts).SignedBy);
        Assert.Contains(_world.Reporter.Lines, l => l.Contains("made 2020-06-01", StringComparison.Ordinal));
    }

    /// <summary>Changes the last byte of the signature value and armors it again (a valid armor CRC: the damage is in the signature itself).</summary>
    private static byte[] FlipLastByte(byte[] armored)
    {
        using var decoded = PgpUtilities.GetDecoderStream(new MemoryStream(armored));
        using var raw = new MemoryStream();
        decoded.CopyTo(raw);
        var bytes = raw.ToArray();
        bytes[^1] ^= 0x01;
        using var output = new MemoryStream();
        using (var armor = new ArmoredOutputStream(output))
            armor.Write(bytes);
        return output.ToArray();
    }
}
