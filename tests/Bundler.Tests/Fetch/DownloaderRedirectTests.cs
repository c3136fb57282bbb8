using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Bundler.Fetch;
using Bundler.Tests.Fetch.Images;

namespace Bundler.Tests.Fetch;

/// <summary>The Downloader follows redirects itself: credentials stay with their origin, loops and odd schemes are refused.</summary>
public sealed class DownloaderRedirectTests
{
    private static readonly RequestHeaders WithToken = new(["application/json"], new AuthenticationHeaderValue("Bearer", "secret-token"));

    [Fact]
    public async Task GivenARedirectOnTheSameOrigin_WhenGettingWithAToken_ThenTheTokenFollowsAndTheFinalUrlIsReported()
    {
        await using var server = new TestHttpServer((request, stream, ct) => request.Path == "/a"
            ? TestHttpServer.Respond(stream, "302 Found", [], ct, "Location: /b")
            : TestHttpServer.Respond(stream, "200 OK", Encoding.UTF8.GetBytes("{}"), ct, "Content-Type: application/json"));
        using var downloader = new Downloader(RegistryWorld.Settings);

        var answer = await downloader.GetAsync(new Uri($"{server.BaseUrl}/a"), WithToken, 1024, CancellationToken.None);

        Assert.Equal(("{}", "application/json", $"{server.BaseUrl}/b"), (Encoding.UTF8.GetString(answer.Body), answer.ContentType, answer.Url.ToString()));
        Assert.All(server.Requests, r => Assert.Equal("Bearer secret-token", r.Headers["authorization"]));
    }

    [Fact]
    public async Task GivenARedirectToAnotherPort_WhenGettingWithAToken_ThenTheTokenIsNotSentThere()
    {
        await using var other = new TestHttpServer((request, stream, ct) => TestHttpServer.Respond(stream, "200 OK", [1, 2, 3], ct));
        await using var server = new TestHttpServer((request, stream, ct) => TestHttpServer.Respond(stream, "307 Temporary Redirect", [], ct, $"Location: {other.BaseUrl}/blob"));
        using var downloader = new Downloader(RegistryWorld.Settings);

        var answer = await downloader.GetAsync(new Uri($"{server.BaseUrl}/v2/x"), WithToken, 1024, CancellationToken.None);

        Assert.Equal([1, 2, 3], answer.Body);
        Assert.True(Assert.Single(server.Requests).Headers.ContainsKey("authorization"));
        Assert.False(Assert.Single(other.Requests).Headers.ContainsKey("authorization"));
    }

    [Theory]
    [InlineData("/loop", "more than 10 redirects")]
    [InlineData("file:///etc/passwd", "refused redirect to file:///etc/passwd")]
    [InlineData("", "a redirect without a Location header")]
    public async Task GivenABadRedirect_WhenGetting_ThenItIsRefusedWithoutRetrying(string location, string problem)
    {
        await using var server = new TestHttpServer((request, stream, ct) => location.Length == 0
            ? TestHttpServer.Respond(stream, "302 Found", [], ct)
            : TestHttpServer.Respond(stream, "302 Found", [], ct, $"Location: {location}"));
        var retries = new List<string>();
        using var downloader = new Downloader(RegistryWorld.Settings, retries.Add);

        var error = await Assert.ThrowsAsync<HttpStatusException>(() => downloader.GetAsync(new Uri($"{server.BaseUrl}/loop"), RequestHeaders.None, 1024, CancellationToken.None));

        Assert.Contains(problem, error.Message);
        Assert.Empty(retries);
        Assert.Equal(location == "/loop" ? 11 : 1, server.Requests.Count);
    }

    [Fact]
    public async Task GivenAResponseLargerThanAllowed_WhenGetting_ThenItIsRefusedUnread()
    {
        await using var server = new TestHttpServer((request, stream, ct) => TestHttpServer.Respond(stream, "200 OK", new byte[4096], ct));
        using var downloader = new Downloader(RegistryWorld.Settings);

        var error = await Assert.ThrowsAsync<HttpStatusException>(() => downloader.GetAsync(new Uri($"{server.BaseUrl}/big"), RequestHeaders.None, 1024, CancellationToken.None));

        Assert.Contains("the response is 4096 bytes, more than the 1024 allowed", error.Message);
    }

    [Fact]
    public async Task GivenA401WithAChallenge_WhenGetting_ThenTheChallengeIsHandedToTheCaller()
    {
        await using var server = new TestHttpServer((request, stream, ct) =>
            TestHttpServer.Respond(stream, "401 Unauthorized", [], ct, "WWW-Authenticate: Bearer realm=\"http://127.0.0.1/token\",service=\"s\""));
        using var downloader = new Downloader(RegistryWorld.Settings);

        var error = await Assert.ThrowsAsync<HttpStatusException>(() => downloader.GetAsync(new Uri($"{server.BaseUrl}/v2/"), RequestHeaders.None, 1024, CancellationToken.None));

        Assert.Equal((HttpStatusCode.Unauthorized, "Bearer realm=\"http://127.0.0.1/token\",service=\"s\""), (error.Status, error.Challenge));
    }
}
