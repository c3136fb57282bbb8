namespace Bundler.Tests.Fetch;

/// <summary>Skips (with the reason) when GnuPG is missing, except under CI=true, where the test must run and fails loudly.</summary>
public sealed class GnuPgFactAttribute : FactAttribute
{
    public GnuPgFactAttribute()
    {
        if (!GnuPgInstalled && Environment.GetEnvironmentVariable("CI") != "true")
            Skip = "SKIPPED: the OpenPGP tests make their keys and signatures with GnuPG; install it (apt-get install gpg gpg-agent) or run .ci/run";
    }

    /// <summary>gpg, and the agent that holds its secret keys (a separate Debian package, only recommended by gpg).</summary>
    internal static bool GnuPgInstalled => ProcessRunner.Find("gpg") is not null && ProcessRunner.Find("gpg-agent") is not null;
}

/// <summary>
/// The real <c>gpg</c> (Debian's GnuPG) in a throw-away home: keys and detached signatures made exactly as an
/// upstream release manager makes them, never by the code under test.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GnuPg : IDisposable
{
    private static readonly string[] Batch = ["--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", ""];

    public GnuPg()
    {
        // Short path: gpg-agent's socket lives here and Unix socket paths are limited to 108 bytes.
        Home = Path.Combine("/tmp", "kb-gpg-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public static bool Installed => GnuPgFactAttribute.GnuPgInstalled;

    public string Home { get; }

    /// <summary>A new primary key; <paramref name="usage"/> "sign" (signs itself, like nginx's RSA keys) or "cert" (needs a subkey, like runc's).</summary>
    public async Task<string> NewKeyAsync(string userId, string algorithm, string usage, string expires = "never", string? fakedTime = null)
    {
        string[] faked = fakedTime is null ? [] : ["--faked-system-time", fakedTime];
        await GpgAsync([.. faked, "--quick-gen-key", userId, algorithm, usage, expires]);
        return (await FingerprintsAsync(userId))[0];
    }

    /// <summary>Adds a signing subkey to <paramref name="primary"/>; returns the subkey's fingerprint.</summary>
    public async Task<string> AddSigningSubkeyAsync(string primary, string algorithm = "ed25519")
    {
        await GpgAsync(["--quick-add-key", primary, algorithm, "sign", "never"]);
        return (await FingerprintsAsync(primary))[^1];
    }

    /// <summary>Revokes the first subkey of <paramref name="primary"/> (gpg --edit-key: select key 1, revkey, confirm, reason 0).</summary>
    public Task RevokeFirstSubkeyAsync(string primary) =>
        GpgAsync(["--edit-key", primary], commands: "key 1\nrevkey\ny\n0\n\ny\nsave\n");

    /// <summary>The public key as upstream publishes it: <c>gpg --export --armor</c>.</summary>
    public async Task<string> ExportAsync(string fingerprint) => (await GpgAsync(["--armor", "--export", fingerprint])).StandardOutput;

    /// <summary>An armored detached signature made by exactly <paramref name="key"/> (a primary key or a subkey: the "!" suffix).</summary>
    public async Task<byte[]> SignAsync(string key, byte[] data, string? fakedTime = null)
    {
        var input = Path.Combine(Home, "data-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(input, data);
        string[] faked = fakedTime is null ? [] : ["--faked-system-time", fakedTime];
        await GpgAsync([.. faked, "--armor", "--detach-sign", "--local-user", key + "!", "--output", input + ".asc", input]);
        return await File.ReadAllBytesAsync(input + ".asc");
    }

    private async Task<List<string>> FingerprintsAsync(string who)
    {
        var listing = await GpgAsync(["--with-colons", "--list-keys", who]);
        return listing.StandardOutput.Split('\n').Where(l => l.StartsWith("fpr:", StringComparison.Ordinal)).Select(l => l.Split(':')[9]).ToList();
    }

    private async Task<ProcessResult> GpgAsync(string[] arguments, string? commands = null)
    {
        if (commands is not null)
        {
            // The edit-key dialogue's answers, one per line (ProcessRunner gives gpg no stdin).
            var file = Path.Combine(Home, "commands-" + Guid.NewGuid().ToString("N"));
            await File.WriteAllTextAsync(file, commands);
            arguments = ["--command-file", file, .. arguments];
        }
        var result = await ProcessRunner.RunAsync("gpg", [.. Batch, .. arguments], environment: new Dictionary<string, string> { ["GNUPGHOME"] = Home });
        if (!result.Succeeded)
            throw new InvalidOperationException($"{result.Command} failed: {result.Tail()}");
        return result;
    }

    public void Dispose()
    {
        if (Installed)
            ProcessRunner.RunAsync("gpgconf", ["--kill", "gpg-agent"], environment: new Dictionary<string, string> { ["GNUPGHOME"] = Home }).GetAwaiter().GetResult();
        try
        {
            Directory.Delete(Home, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
