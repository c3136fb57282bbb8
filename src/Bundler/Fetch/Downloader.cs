using System.Net;
using System.Net.Http.Headers;
using Bundler.Pipeline;
using Polly;
using Polly.Retry;

namespace Bundler.Fetch;

/// <summary>A server answered with a status that retrying will not fix (404, 403, ...): try the next source.</summary>
public sealed class HttpStatusException : Exception
{
    public HttpStatusException(Uri url, HttpStatusCode status, string? challenge = null)
        : this($"{url}: {(int)status} {status}", url, status, challenge)
    {
    }

    private HttpStatusException(string message, Uri url, HttpStatusCode status, string? challenge)
        : base(message)
    {
        Url = url;
        Status = status;
        Challenge = challenge;
    }

    /// <summary>An answer that is refused (a redirect to http, too many hops, too large): this source is not used.</summary>
    public static HttpStatusException Refused(Uri url, HttpStatusCode status, string problem) =>
        new($"{url}: {(int)status} {status}: {problem}", url, status, null);

    public Uri Url { get; }

    public HttpStatusCode Status { get; }

    /// <summary>The <c>WWW-Authenticate</c> header of a 401, for a client that knows how to answer it.</summary>
    public string? Challenge { get; }
}

/// <summary>
/// What one request sends besides its URL. <see cref="Authorization"/> goes to the origin (scheme, host, port)
/// of the URL first requested and never further: a redirect to another host (a CDN, a storage bucket) does not
/// see the credential.
/// </summary>
public sealed record RequestHeaders(IReadOnlyList<string> Accept, AuthenticationHeaderValue? Authorization = null)
{
    public static readonly RequestHeaders None = new([]);
}

/// <summary>A small response read whole (a manifest, a token), and the URL it finally came from.</summary>
public sealed record HttpAnswer(byte[] Body, string? ContentType, Uri Url);

/// <summary>
/// The one place that touches the network (STYLE §12). Downloads one URL into a partial file, resuming with a
/// Range request when the partial file already holds bytes, hashing every byte as it arrives (including the
/// bytes already on disk), retrying transient failures with exponential backoff (Polly), and treating a server
/// that sends nothing for <see cref="FetchSettings.StallTimeout"/> as failed. Redirects are followed here, not
/// by the handler, so credentials stay with their host and https is never downgraded to http.
/// </summary>
public sealed class Downloader : IDisposable
{
    private const int MaxRedirects = 10;
    private readonly HttpClient _http;
    private readonly FetchSettings _settings;
    private readonly ResiliencePipeline _retry;

    public Downloader(FetchSettings settings, Action<string>? onRetry = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None };
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
    public Task<string> DownloadAsync(Uri url, string partialPath, string algorithm, IProgressItem progress, CancellationToken cancellationToken) =>
        DownloadAsync(url, partialPath, algorithm, progress, RequestHeaders.None, maxBytes: null, cancellationToken);

    /// <summary>
    /// As above, with request headers, and stopping once the file holds more than <paramref name="maxBytes"/>
    /// (a server sending more than the expected size cannot fill the disk; the caller sees the size is wrong).
    /// </summary>
    public async Task<string> DownloadAsync(Uri url, string partialPath, string algorithm, IProgressItem progress, RequestHeaders headers,
        long? maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(progress);
        ArgumentNullException.ThrowIfNull(headers);
        Directory.CreateDirectory(Path.GetDirectoryName(partialPath)!);
        return await _retry.ExecuteAsync(
            async ct => await AttemptAsync(url, partialPath, algorithm, progress, headers, maxBytes, ct).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads a small response whole (at most <paramref name="maxBytes"/>), with the same retries. A status that
    /// retrying will not fix throws <see cref="HttpStatusException"/> (with the challenge of a 401).
    /// </summary>
    public async Task<HttpAnswer> GetAsync(Uri url, RequestHeaders headers, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(headers);
        return await _retry.ExecuteAsync(async ct =>
        {
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
            stall.CancelAfter(_settings.StallTimeout);
            try
            {
                using var response = await SendAsync(url, headers, 0, stall.Token).ConfigureAwait(false);
                ThrowIfFailed(response);
                if (response.Content.Headers.ContentLength > maxBytes)
                    throw HttpStatusException.Refused(response.RequestMessage?.RequestUri ?? url, response.StatusCode,
                        $"the response is {response.Content.Headers.ContentLength} bytes, more than the {maxBytes} allowed");
                await using var body = await response.Content.ReadAsStreamAsync(stall.Token).ConfigureAwait(false);
                using var buffer = new MemoryStream();
                var chunk = new byte[1 << 16];
                int read;
                while ((read = await body.ReadAsync(chunk, stall.Token).ConfigureAwait(false)) > 0)
                {
                    stall.CancelAfter(_settings.StallTimeout);
                    buffer.Write(chunk, 0, read);
                    if (buffer.Length > maxBytes)
                        throw HttpStatusException.Refused(url, response.StatusCode, $"the response is more than the {maxBytes} bytes allowed");
                }
                return new HttpAnswer(buffer.ToArray(), response.Content.Headers.ContentType?.MediaType, response.RequestMessage?.RequestUri ?? url);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw Stalled(url);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<string> AttemptAsync(Uri url, string partialPath, string algorithm, IProgressItem progress, RequestHeaders headers,
        long? maxBytes, CancellationToken cancellationToken)
    {
        var existing = File.Exists(partialPath) ? new FileInfo(partialPath).Length : 0;
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stall.CancelAfter(_settings.StallTimeout);
        HttpResponseMessage response;
        try
        {
            response = await SendAsync(url, headers, existing, stall.Token).ConfigureAwait(false);
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
            ThrowIfFailed(response);

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
            var written = start;
            await using var file = new FileStream(partialPath, mode, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var buffer = new byte[1 << 16];
            while (written <= (maxBytes ?? long.MaxValue - 1))
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
                written += read;
                progress.Advance(read);
            }
            await file.FlushAsync(cancellationToken).ConfigureAwait(false);
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
    }

    /// <summary>
    /// Sends one GET and follows redirects itself (dl.k8s.io, GitHub releases and registries redirect to CDNs):
    /// the Range header follows every hop, the Authorization header only stays while the origin does.
    /// </summary>
    private async Task<HttpResponseMessage> SendAsync(Uri url, RequestHeaders headers, long rangeFrom, CancellationToken cancellationToken)
    {
        var current = url;
        for (var hop = 0; ; hop++)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, current);
            if (rangeFrom > 0)
                request.Headers.Range = new RangeHeaderValue(rangeFrom, null);
            foreach (var accept in headers.Accept)
                request.Headers.Accept.Add(MediaTypeWithQualityHeaderValue.Parse(accept));
            if (headers.Authorization is { } authorization && SameOrigin(current, url))
                request.Headers.Authorization = authorization;

            var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if ((int)response.StatusCode is not (301 or 302 or 303 or 307 or 308))
                return response;
            var status = response.StatusCode;
            var location = response.Headers.Location;
            response.Dispose();
            request.Dispose();
            if (location is null)
                throw HttpStatusException.Refused(current, status, "a redirect without a Location header");
            if (hop >= MaxRedirects)
                throw HttpStatusException.Refused(current, status, $"more than {MaxRedirects} redirects");
            var next = location.IsAbsoluteUri ? location : new Uri(current, location);
            if (next.Scheme is not ("http" or "https") || (current.Scheme == "https" && next.Scheme != "https"))
                throw HttpStatusException.Refused(current, status, $"refused redirect to {next.GetLeftPart(UriPartial.Path)} (only http(s), never from https to http)");
            current = next;
        }
    }

    private static void ThrowIfFailed(HttpResponseMessage response)
    {
        var url = response.RequestMessage?.RequestUri!;
        if ((int)response.StatusCode >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests)
            throw new HttpRequestException($"{url}: {(int)response.StatusCode} {response.StatusCode}", null, response.StatusCode);
        if (!response.IsSuccessStatusCode)
            throw new HttpStatusException(url, response.StatusCode,
                response.StatusCode == HttpStatusCode.Unauthorized && response.Headers.TryGetValues("WWW-Authenticate", out var challenges) ? string.Join(", ", challenges) : null);
    }

    private static bool SameOrigin(Uri a, Uri b) =>
        a.Scheme == b.Scheme && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    private TimeoutException Stalled(Uri url) =>
        new($"{url}: no data for {_settings.StallTimeout.TotalSeconds:0.##}s (server stalled)");

    public void Dispose() => _http.Dispose();
}
