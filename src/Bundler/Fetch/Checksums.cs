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

    /// <summary>
    /// Copies a local file (a mirror folder's copy, a carried-in layout's blob) to <paramref name="destination"/>,
    /// hashing every byte on the way, and returns the hex checksum of what was written. The caller verifies it.
    /// </summary>
    public static async Task<string> CopyAndHashAsync(string source, string destination, string algorithm, Pipeline.IProgressItem progress,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(progress);
        using var hash = Create(algorithm);
        await using (var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan | FileOptions.Asynchronous))
        await using (var output = new FileStream(destination, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
        {
            var buffer = new byte[1 << 20];
            int read;
            while ((read = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                progress.Advance(read);
            }
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
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
