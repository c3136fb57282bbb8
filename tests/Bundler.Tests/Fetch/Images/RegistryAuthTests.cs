using System.Net;
using System.Text;
using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Fetch.Images;
using Bundler.Pipeline;

namespace Bundler.Tests.Fetch.Images;

/// <summary>
/// The anonymous bearer-token flow and credential-free redirects, in front of the real registry: an auth front on
/// 127.0.0.1 answers 401 with a Bearer challenge until a token from its /token endpoint is shown, and redirects
/// every blob to a storage host on 127.0.0.2 (as registries redirect to a CDN or bucket).
/// </summary>
[Collection(RegistryCollection.Name)]
public sealed class RegistryAuthTests(RegistryWorld fixture) : IDisposable
{
    private const string Token = "anonymous-pull-token-1234";
    private readonly TempDir _temp = new("kbundle-auth");
    private readonly RecordingReporter _reporter = new();

    public void Dispose() => _temp.Dispose();

    [RegistryFact]
    public async Task GivenARegistryAskingForABearerTokenAndRedirectingBlobsToAnotherHost_WhenFetching_ThenTheTokenIsFetchedOnceAndNeverSentToThatHost()
    {
        var world = await fixture.StartAsync();
        await using var storage = new TestHttpServer((request, stream, ct) =>
            RegistryProxy.ForwardAsync(world.Registry, request with { Path = request.Path.Replace("/storage/", "/v2/", StringComparison.Ordinal) }, stream, ct),
            IPAddress.Parse("127.0.0.2"));
        TestHttpServer? front = null;
        front = new TestHttpServer(async (request, stream, ct) =>
        {
            if (request.Path.StartsWith("/token?", StringComparison.Ordinal))
            {
                await TestHttpServer.Respond(stream, "200 OK", Encoding.UTF8.GetBytes($"{{\"token\":\"{Token}\",\"expires_in\":300}}"), ct, "Content-Type: application/json");
                return;
            }
            if (!request.Headers.TryGetValue("authorization", out var authorization) || authorization != $"Bearer {Token}")
            {
                await TestHttpServer.Respond(stream, "401 Unauthorized", Encoding.UTF8.GetBytes("{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}"), ct,
                    $"WWW-Authenticate: Bearer realm=\"{front!.BaseUrl}/token\",service=\"test-registry\",scope=\"repository:test/busybox:pull\"");
                return;
            }
            if (request.Path.Contains("/blobs/", StringComparison.Ordinal))
            {
                await TestHttpServer.Respond(stream, "307 Temporary Redirect", [], ct, $"Location: {storage.BaseUrl}{request.Path.Replace("/v2/", "/storage/", StringComparison.Ordinal)}");
                return;
            }
            await RegistryProxy.ForwardAsync(world.Registry, request, stream, ct);
        });
        await using (front)
        {
            using var fetcher = RegistryWorld.Fetcher(_temp.File("cache"), _reporter);

            var images = await fetcher.FetchAsync([new ImageRequest(world.Pin(registry: front.Host), [Arch.Amd64, Arch.Arm64])], CancellationToken.None);

            Assert.Equal(world.Layout.Index, Assert.Single(images).Root.Digest);
            var token = Assert.Single(front.Requests, r => r.Path.StartsWith("/token?", StringComparison.Ordinal));
            Assert.Equal("/token?service=test-registry&scope=repository%3Atest%2Fbusybox%3Apull", token.Path);
            Assert.False(token.Headers.ContainsKey("authorization"));
            var registryRequests = front.Requests.Where(r => r.Path.StartsWith("/v2/", StringComparison.Ordinal)).ToList();
            Assert.Single(registryRequests, r => !r.Headers.ContainsKey("authorization"));
            Assert.Equal(4, storage.Requests.Count(r => r.Path.StartsWith("/storage/test/busybox/blobs/", StringComparison.Ordinal)));
            Assert.All(storage.Requests, r => Assert.False(r.Headers.ContainsKey("authorization"), $"{r.Path} carried Authorization to another host"));
        }
    }

    [RegistryFact]
    public async Task GivenARegistryAskingForBasicCredentials_WhenFetching_ThenItFailsSayingKbundlePullsAnonymously()
    {
        var world = await fixture.StartAsync();
        await using var front = new TestHttpServer((request, stream, ct) =>
            TestHttpServer.Respond(stream, "401 Unauthorized", [], ct, "WWW-Authenticate: Basic realm=\"corp\""));
        using var fetcher = RegistryWorld.Fetcher(_temp.File("cache"), _reporter);

        var error = await Assert.ThrowsAsync<FetchException>(() => fetcher.FetchAsync([new ImageRequest(world.Pin(registry: front.Host), [Arch.Amd64])], CancellationToken.None));

        Assert.Contains("the registry asks for Basic credentials; kbundle pulls anonymously", error.Message);
    }

    [Theory]
    [InlineData("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/busybox:pull\"",
        "Bearer", "https://auth.docker.io/token", "registry.docker.io", "repository:library/busybox:pull")]
    [InlineData("bearer realm=https://ghcr.io/token, service=ghcr.io", "bearer", "https://ghcr.io/token", "ghcr.io", null)]
    [InlineData("Bearer realm=\"https://r.example/t\\\"x\",scope=\"a,b\"", "Bearer", "https://r.example/t\"x", null, "a,b")]
    public void GivenAChallenge_WhenParsing_ThenRealmServiceAndScopeAreRead(string challenge, string scheme, string realm, string? service, string? scope)
    {
        var (parsedScheme, parameters) = RegistryClient.ParseChallenge(challenge);

        Assert.Equal(scheme, parsedScheme);
        Assert.Equal(realm, parameters["realm"]);
        Assert.Equal(service, parameters.GetValueOrDefault("service"));
        Assert.Equal(scope, parameters.GetValueOrDefault("scope"));
    }
}
