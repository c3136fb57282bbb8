namespace Bundler.Fetch;

/// <summary>How hard the fetch step tries. Defaults suit the internet; tests shorten the timeouts.</summary>
public sealed record FetchSettings
{
    /// <summary>Downloads running at once.</summary>
    public int MaxParallel { get; init; } = 4;

    /// <summary>Retries after the first attempt, per source, with exponential backoff and jitter.</summary>
    public int Retries { get; init; } = 4;

    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A server that sends no byte for this long is treated as stalled (the attempt fails and is retried).</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public static readonly FetchSettings Default = new();
}

/// <summary>A download failed at every source (not an integrity failure: nothing unverified was kept).</summary>
public sealed class FetchException(string message) : Exception(message);
