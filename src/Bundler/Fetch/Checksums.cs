using System.Security.Cryptography;

namespace Bundler.Fetch;

/// <summary>The checksum algorithms a lock may use (SPEC §5): sha256 and sha512, hex, lower case.</summary>
public static class Checksums
{
    public static IncrementalHash Create(string algorithm) => algorithm switch
    {
        "sha256" => IncrementalHash.CreateHash(HashAlgorithmName.SHA256),
        "sha512" => IncrementalHash.CreateHash(HashAlgorithmName.SHA512),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "allowed: sha256, sha512"),
    };

    /// <summary>Hashes a whole file with large sequential reads (the warm-cache path: no other work is done).</summary>
    public static async Task<string> OfFileAsync(string path, string algorithm, CancellationToken cancellationToken = default)
    {
        var options = new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Options = FileOptions.SequentialScan | FileOptions.Asynchronous, BufferSize = 0 };
        await using var stream = new FileStream(path, options);
        return algorithm switch
        {
            "sha256" => Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false)),
            "sha512" => Convert.ToHexStringLower(await SHA512.HashDataAsync(stream, cancellationToken).ConfigureAwait(false)),
            _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "allowed: sha256, sha512"),
        };
    }

    /// <summary>Feeds an existing file (the partial part of a resumed download) into a running hash.</summary>
    public static async Task AppendFileAsync(IncrementalHash hash, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hash);
        var buffer = new byte[1 << 20];
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan | FileOptions.Asynchronous);
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            hash.AppendData(buffer, 0, read);
    }
}
