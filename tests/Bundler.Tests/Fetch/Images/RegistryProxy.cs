using System.Net.Http.Headers;

namespace Bundler.Tests.Fetch.Images;

/// <summary>
/// Forwards a request seen by a <see cref="TestHttpServer"/> to the real registry and writes its answer back,
/// so a test can stand in front of a real registry to count, cut, tamper with, authenticate or redirect.
/// </summary>
public static class RegistryProxy
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { AllowAutoRedirect = false });

    public sealed record Answer(int Status, string Reason, byte[] Body, IReadOnlyList<string> Headers);

    public static async Task<Answer> GetAsync(LocalRegistry registry, SeenRequest request, CancellationToken ct)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, registry.Url + request.Path);
        if (request.Headers.TryGetValue("accept", out var accept))
            message.Headers.TryAddWithoutValidation("Accept", accept);
        if (request.Range is { } range)
            message.Headers.Range = RangeHeaderValue.Parse(range);
        using var response = await Http.SendAsync(message, ct);
        var body = await response.Content.ReadAsByteArrayAsync(ct);
        var headers = new List<string>();
        if (response.Content.Headers.ContentType is { } type)
            headers.Add($"Content-Type: {type}");
        if (response.Content.Headers.ContentRange is { } contentRange)
            headers.Add($"Content-Range: {contentRange}");
        if (response.Headers.TryGetValues("Docker-Content-Digest", out var digests))
            headers.Add($"Docker-Content-Digest: {digests.First()}");
        return new Answer((int)response.StatusCode, response.ReasonPhrase ?? "", body, headers);
    }

    public static Task WriteAsync(Stream stream, Answer answer, CancellationToken ct, byte[]? body = null) =>
        TestHttpServer.Respond(stream, $"{answer.Status} {answer.Reason}", body ?? answer.Body, ct, [.. answer.Headers]);

    public static async Task ForwardAsync(LocalRegistry registry, SeenRequest request, Stream stream, CancellationToken ct) =>
        await WriteAsync(stream, await GetAsync(registry, request, ct), ct);
}
