using System.Reflection;
using System.Security.Cryptography;

namespace Bundler.Audit;

/// <summary>
/// Which kbundle wrote an output: its version, and the git commit it was built from (the SDK's source link appends it to
/// the informational version as <c>+SHA</c> at build time; null when the tool was built outside a git work tree).
/// </summary>
public sealed record ToolIdentity(string Version, string? Commit)
{
    public const string Name = "kbundle";

    public static ToolIdentity Current { get; } = Of(typeof(ToolIdentity).Assembly);

    /// <summary><c>0.1.0+1a2b3c…</c>, or the bare version when the commit is unknown.</summary>
    public string Full => Commit is null ? Version : $"{Version}+{Commit}";

    public static ToolIdentity Of(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var version = assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{v.Build}" : "0.0.0";
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "";
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        var commit = plus < 0 ? null : informational[(plus + 1)..];
        return new ToolIdentity(version, string.IsNullOrEmpty(commit) || !commit.All(char.IsAsciiHexDigit) ? null : commit);
    }
}

/// <summary>The signing key's fingerprint as auditors compute it: <c>openssl pkey -pubin -in signing.pub -outform DER | sha256sum</c>.</summary>
public static class KeyFingerprint
{
    public static string Sha256(string publicKeyPem)
    {
        ArgumentNullException.ThrowIfNull(publicKeyPem);
        using var key = ECDsa.Create();
        key.ImportFromPem(publicKeyPem);
        return Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()));
    }
}
