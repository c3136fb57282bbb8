using System.Net;
using System.Net.Http.Headers;
using Bundler.Pipeline;
using Polly;
using Polly.Retry;

namespace Bundler.Fetch;

/// <summary>A server answered with a status that retrying will not fix (404, 403, ...): try the next source.</summary>
public sealed class HttpStatusException(Uri url, HttpStatusCode status)
    : Exception($"{url}: {(int)status} {status}")
{
    public HttpStatusCode Status { get; } = status;
}

/// <summary>
/// The one place that touches the network (STYLE §12). Downloads one URL into a partial file, resuming with a
/// Range request when the partial file already holds bytes, hashing every byte as it arrives (including the
/// bytes already on disk), retrying transient failures with exponential backoff (Polly), and treating a server
/// that sends nothing for <see cref="FetchSettings.StallTimeout"/> as failed.
/// </summary>
public sealed class Downloader : IDisposable
{
    private readonly HttpClient _http;
    private readonly FetchSettings _settings;
    private readonly ResiliencePipeline _retry;

    public Downloader(FetchSettings settings, Action<string>? onRetry = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        // Redirects are followed (dl.k8s.io and GitHub releases redirect to CDNs); https -> http is not.
        var handler = new SocketsHttpHandler { AllowAutoRedirect = true, MaxAutomaticRedirections = 10, AutomaticDecompression = DecompressionMethods.None };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("kbundle", "1.0"));
        _retry = settings.Retries <= 0 ? ResiliencePipeline.Empty : new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                // Cut connections, stalls and 5xx/408/429 are worth another try; a 404 or 403 is not (next source).
                ShouldHandle = new PredicateBuilder()
                    .Handle<TimeoutException>()
                    .Handle<IOException>()
                    .Handle<HttpRequestException>(),
                MaxRetryAttempts = settings.Retries,
                Delay = settings.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                OnRetry = args =>
                {
                    onRetry?.Invoke($"attempt {args.AttemptNumber + 1} failed ({args.Outcome.Exception?.Message}); retrying in {args.RetryDelay.TotalSeconds:0.##}s");
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>
    /// Downloads <paramref name="url"/> into <paramref name="partialPath"/> (appending to what is there) and
    /// returns the checksum of the whole file. The caller verifies it; this class never decides what is trusted.
    /// </summary>
    public async Task<string> DownloadAsync(Uri url, string partialPath, string algorithm, IProgressItem progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(progress);
        Directory.CreateDirectory(Path.GetDirectoryName(partialPath)!);
        return await _retry.ExecuteAsync(
            async ct => await AttemptAsync(url, partialPath, algorithm, progress, ct).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
    }

    private async Task<string> AttemptAsync(Uri url, string partialPath, string algorithm, IProgressItem progress, CancellationToken cancellationToken)
    {
        var existing = File.Exists(partialPath) ? new FileInfo(partialPath).Length : 0;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (existing > 0)
            request.Headers.Range = new RangeHeaderValue(existing, null);

        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stall.CancelAfter(_settings.StallTimeout);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stall.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw Stalled(url);
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && existing > 0)
            {
                // The partial file already holds every byte (a run died between download and verify).
                using var whole = Checksums.Create(algorithm);
                await Checksums.AppendFileAsync(whole, partialPath, cancellationToken).ConfigureAwait(false);
                return Convert.ToHexStringLower(whole.GetHashAndReset());
            }
            if ((int)response.StatusCode >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests)
                throw new HttpRequestException($"{url}: {(int)response.StatusCode} {response.StatusCode}", null, response.StatusCode);
            if (!response.IsSuccessStatusCode)
                throw new HttpStatusException(url, response.StatusCode);

            var resumed = response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From == existing;
            var start = resumed ? existing : 0;
            using var hash = Checksums.Create(algorithm);
            if (resumed)
                await Checksums.AppendFileAsync(hash, partialPath, cancellationToken).ConfigureAwait(false);
            if (response.Content.Headers.ContentLength is { } length)
                progress.SetTotal(start + length);
            if (start > 0)
                progress.Advance(start);

            var mode = resumed ? FileMode.Append : FileMode.Create;
            await using var file = new FileStream(partialPath, mode, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var buffer = new byte[1 << 16];
            while (true)
            {
                stall.CancelAfter(_settings.StallTimeout);
                int read;
                try
                {
                    read = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw Stalled(url);
                }
                if (read == 0)
                    break;
                hash.AppendData(buffer, 0, read);
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                progress.Advance(read);
            }
            await file.FlushAsync(cancellationToken).ConfigureAwait(false);
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
    }

    private TimeoutException Stalled(Uri url) =>
        new($"{url}: no data for {_settings.StallTimeout.TotalSeconds:0.##}s (server stalled)");

    public void Dispose() => _http.Dispose();
}
