using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Bundler.Pipeline;

namespace Bundler.Fetch.Images;

/// <summary>
/// The OCI distribution API of one registry endpoint (the registry itself or a mirror), pulling anonymously:
/// on a 401 it answers the <c>WWW-Authenticate: Bearer realm=...,service=...,scope=...</c> challenge with an
/// anonymous token request, caches the token per scope, and retries once. Every request goes through the
/// <see cref="Downloader"/>, which sends the token to this endpoint's host only (never along a redirect).
/// </summary>
public sealed class RegistryClient
{
    /// <summary>The distribution spec's manifest limit (and containerd's): more is refused, never buffered.</summary>
    public const long MaxManifestBytes = 4 << 20;
    private const long MaxTokenBytes = 1 << 20;

    private readonly Downloader _downloader;
    private readonly ConcurrentDictionary<string, AuthenticationHeaderValue> _tokens = new(StringComparer.Ordinal);

    public RegistryClient(Uri baseUrl, Downloader downloader)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        ArgumentNullException.ThrowIfNull(downloader);
        BaseUrl = baseUrl;
        _downloader = downloader;
    }

    /// <summary>Scheme, host and port, e.g. https://registry.k8s.io; requests go to <c>/v2/&lt;repository&gt;/...</c>.</summary>
    public Uri BaseUrl { get; }

    /// <summary>
    /// The endpoint of a registry host: https, except on loopback (as Docker and containerd do: a local registry
    /// needs no certificate, and every byte is verified against the lock anyway).
    /// </summary>
    public static Uri EndpointFor(string apiHost)
    {
        ArgumentNullException.ThrowIfNull(apiHost);
        var host = apiHost.StartsWith('[') ? apiHost[1..apiHost.IndexOf(']', StringComparison.Ordinal)] : apiHost.Split(':')[0];
        var loopback = host == "localhost" || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
        return new Uri($"{(loopback ? "http" : "https")}://{apiHost}");
    }

    public Uri ManifestUrl(string repository, string digest) => new(BaseUrl, $"/v2/{repository}/manifests/{digest}");

    public Uri BlobUrl(string repository, string digest) => new(BaseUrl, $"/v2/{repository}/blobs/{digest}");

    /// <summary>GET a manifest or index by digest, whole; the caller verifies the digest.</summary>
    public Task<HttpAnswer> GetManifestAsync(string repository, string digest, long maxBytes, CancellationToken cancellationToken) =>
        WithTokenAsync(repository,
            headers => _downloader.GetAsync(ManifestUrl(repository, digest), headers with { Accept = MediaTypes.Manifests }, Math.Min(maxBytes, MaxManifestBytes), cancellationToken),
            cancellationToken);

    /// <summary>GET a blob into <paramref name="partialPath"/> (resuming), returning its sha256 hex; the caller verifies.</summary>
    public Task<string> DownloadBlobAsync(string repository, string digest, string partialPath, long size, IProgressItem progress, CancellationToken cancellationToken) =>
        WithTokenAsync(repository,
            headers => _downloader.DownloadAsync(BlobUrl(repository, digest), partialPath, "sha256", progress, headers, size, cancellationToken),
            cancellationToken);

    private async Task<T> WithTokenAsync<T>(string repository, Func<RequestHeaders, Task<T>> send, CancellationToken cancellationToken)
    {
        var scope = $"repository:{repository}:pull";
        _tokens.TryGetValue(scope, out var token);
        try
        {
            return await send(new RequestHeaders([], token)).ConfigureAwait(false);
        }
        catch (HttpStatusException e) when (e.Status == HttpStatusCode.Unauthorized && e.Challenge is not null)
        {
            // First contact, or the cached token expired: get a fresh anonymous one and try once more.
            token = await GetTokenAsync(e.Url, e.Challenge, scope, cancellationToken).ConfigureAwait(false);
            _tokens[scope] = token;
            return await send(new RequestHeaders([], token)).ConfigureAwait(false);
        }
    }

    private async Task<AuthenticationHeaderValue> GetTokenAsync(Uri url, string challenge, string scope, CancellationToken cancellationToken)
    {
        var (scheme, parameters) = ParseChallenge(challenge);
        if (!string.Equals(scheme, "Bearer", StringComparison.OrdinalIgnoreCase) || !parameters.TryGetValue("realm", out var realmText))
            throw HttpStatusException.Refused(url, HttpStatusCode.Unauthorized,
                $"the registry asks for {scheme} credentials; kbundle pulls anonymously (use --registry-mirror or a carried-in OCI layout)");
        if (!Uri.TryCreate(realmText, UriKind.Absolute, out var realm) || realm.Scheme is not ("http" or "https") || (BaseUrl.Scheme == "https" && realm.Scheme != "https"))
            throw HttpStatusException.Refused(url, HttpStatusCode.Unauthorized, $"the token realm '{realmText}' is not an https URL");

        var query = new StringBuilder(realm.Query.Length > 1 ? realm.Query[1..] + "&" : "");
        if (parameters.TryGetValue("service", out var service))
            query.Append("service=").Append(Uri.EscapeDataString(service)).Append('&');
        query.Append("scope=").Append(Uri.EscapeDataString(parameters.TryGetValue("scope", out var asked) ? asked : scope));
        var tokenUrl = new UriBuilder(realm) { Query = query.ToString() }.Uri;

        var answer = await _downloader.GetAsync(tokenUrl, new RequestHeaders(["application/json"]), MaxTokenBytes, cancellationToken).ConfigureAwait(false);
        try
        {
            using var json = JsonDocument.Parse(answer.Body);
            foreach (var name in new[] { "token", "access_token" })
                if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty(name, out var value) && value.GetString() is { Length: > 0 } text)
                    return new AuthenticationHeaderValue("Bearer", text);
        }
        catch (JsonException)
        {
        }
        // The body is not echoed: it may hold a credential.
        throw HttpStatusException.Refused(tokenUrl, HttpStatusCode.Unauthorized, "the token endpoint answered without a token");
    }

    /// <summary>
    /// Parses <c>Bearer realm="...",service="...",scope="..."</c> (RFC 7235 auth-params: quoted strings with
    /// backslash escapes, or bare tokens). Only the first challenge is read.
    /// </summary>
    public static (string Scheme, IReadOnlyDictionary<string, string> Parameters) ParseChallenge(string challenge)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        var text = challenge.Trim();
        var space = text.IndexOf(' ', StringComparison.Ordinal);
        var scheme = space < 0 ? text : text[..space];
        var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = space < 0 ? text.Length : space + 1;
        while (i < text.Length)
        {
            while (i < text.Length && (text[i] == ' ' || text[i] == ','))
                i++;
            var equals = text.IndexOf('=', i);
            if (equals < 0)
                break;
            var key = text[i..equals].Trim();
            if (key.Contains(' ', StringComparison.Ordinal))
                break; // the start of a second challenge
            i = equals + 1;
            var value = new StringBuilder();
            if (i < text.Length && text[i] == '"')
            {
                for (i++; i < text.Length && text[i] != '"'; i++)
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                        i++;
                    value.Append(text[i]);
                }
                i++;
            }
            else
            {
                for (; i < text.Length && text[i] != ','; i++)
                    value.Append(text[i]);
            }
            parameters.TryAdd(key, value.ToString().Trim());
        }
        return (scheme, parameters);
    }
}
