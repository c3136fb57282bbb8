using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Layout;
using Xunit;

namespace Bundler.Tests.Fetch;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FetchStepTests : IDisposable
{
    private readonly FetchWorld _world = new();
    private static readonly byte[] Archive = FetchWorld.EtcdArchive();
    private static readonly string Checksum = FetchWorld.Sha256(Archive);

    public void Dispose() => _world.Dispose();

    [Fact]
    public async Task GivenAServerWithTheArchive_WhenFetching_ThenTheNamedMembersAreUnpackedVerifiedAndExecutable()
    {
        await using var server = new TestHttpServer(TestHttpServer.Files(new Dictionary<string, byte[]> { ["/etcd.tar.gz"] = Archive }));
        var lockPath = _world.WriteLock(FetchWorld.EtcdLockEntry($"{server.BaseUrl}/etcd.tar.gz", Checksum));

        var result = await _world.FetchAsync(lockPath);

        var etcd = result.FileFor(Arch.Amd64, "/opt/k8s/bin/etcd");
        Assert.Equal("etcd", etcd.Component);
        Assert.Equal("#!/bin/sh\necho etcd\n", File.ReadAllText(etcd.LocalPath));
        Assert.Equal(FetchWorld.NodeBinaries.Order(), result.Files.Keys.Select(k => k.NodePath).Order());
        Assert.True(File.GetUnixFileMode(etcd.LocalPath).HasFlag(UnixFileMode.UserExecute));
        Assert.True(File.Exists(result.FileFor(Arch.Amd64, "/opt/k8s/bin/etcdctl").LocalPath));
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(etcd.LocalPath)!, "README.md")));
        Assert.Equal(Path.Combine(_world.CacheDir, "sha256", Checksum), Assert.Single(_world.CacheEntries()));
        Assert.Equal(new ArtifactRecord("etcd", "9.0.0", "amd64", $"{server.BaseUrl}/etcd.tar.gz", "sha256", Checksum), Assert.Single(result.Artifacts));
    }

    [Fact]
    public async Task GivenAWarmCache_WhenFetchingAgain_ThenNoRequestIsMade()
    {
        await using var server = new TestHttpServer(TestHttpServer.Files(new Dictionary<string, byte[]> { ["/etcd.tar.gz"] = Archive }));
        var lockPath = _world.WriteLock(FetchWorld.EtcdLockEntry($"{server.BaseUrl}/etcd.tar.gz", Checksum));
        var first = await _world.FetchAsync(lockPath);
        var unpackedAt = File.GetLastWriteTimeUtc(first.FileFor(Arch.Amd64, "/opt/k8s/bin/etcd").LocalPath);

        var second = await _world.FetchAsync(lockPath);

        Assert.Single(server.Requests);
        Assert.Equal(unpackedAt, File.GetLastWriteTimeUtc(second.FileFor(Arch.Amd64, "/opt/k8s/bin/etcd").LocalPath));
    }

    [Fact]
    public async Task GivenADownloadCutHalfway_WhenFetching_ThenItResumesWithARangeRequest()
    {
        var cut = 0;
        await using var server = new TestHttpServer(async (request, stream, ct) =>
        {
            if (request.Range is null && Interlocked.Increment(ref cut) == 1)
            {
                // Promise the whole body, send half, hang up.
                await TestHttpServer.WriteHead(stream, "200 OK", Archive.Length, ct);
                await stream.WriteAsync(Archive.AsMemory(0, Archive.Length / 2), ct);
                return;
            }
            await TestHttpServer.ServeFile(request, stream, new Dictionary<string, byte[]> { ["/etcd.tar.gz"] = Archive }, ct);
        });
        var lockPath = _world.WriteLock(FetchWorld.EtcdLockEntry($"{server.BaseUrl}/etcd.tar.gz", Checksum));

        var result = await _world.FetchAsync(lockPath);

        Assert.True(File.Exists(result.FileFor(Arch.Amd64, "/opt/k8s/bin/etcd").LocalPath));
        Assert.Contains(server.Requests, r => r.Range == $"bytes={Archive.Length / 2}-");
        Assert.Single(_world.CacheEntries());
    }

    [Fact]
    public async Task GivenAServerSendingOtherBytes_WhenFetching_ThenTheFileIsQuarantinedAndTheBuildFailsNamingBothChecksums()
    {
        var other = FetchWorld.EtcdArchive(marker: " tampered");
        await using var server = new TestHttpServer(TestHttpServer.Files(new Dictionary<string, byte[]> { ["/etcd.tar.gz"] = other }));
        var url = $"{server.BaseUrl}/etcd.tar.gz";
        var lockPath = _world.WriteLock(FetchWorld.EtcdLockEntry(url, Checksum));

        var error = await Assert.ThrowsAsync<IntegrityException>(() => _world.FetchAsync(lockPath));

        Assert.Contains("etcd 9.0.0 amd64", error.Message);
        Assert.Contains(url, error.Message);
        Assert.Contains($"expected sha256 {Checksum}", error.Message);
        Assert.Contains($"actual   sha256 {FetchWorld.Sha256(other)}", error.Message);
        Assert.Empty(_world.CacheEntries());
        Assert.Equal(other, File.ReadAllBytes(Assert.Single(_world.Quarantined())));
    }

    [Fact]
    public async Task GivenA404_WhenFetching_ThenTheErrorNamesTheUrlAndStatusWithoutRetrying()
    {
        await using var server = new TestHttpServer(TestHttpServer.Files(new Dictionary<string, byte[]>()));
        var url = $"{server.BaseUrl}/etcd.tar.gz";
        var lockPath = _world.WriteLock(FetchWorld.EtcdLockEntry(url, Checksum));

        var error = await Assert.ThrowsAsync<FetchException>(() => _world.FetchAsync(lockPath));

        Assert.Contains($"{url}: 404 NotFound", error.Message);
        Assert.Single(server.Requests);
        Assert.Empty(_world.CacheEntries());
    }

    [Fact]
    public async Task GivenAServerThatStalls_WhenFetching_ThenEachAttemptTimesOutIsRetriedAndTheErrorSaysStalled()
    {
        await using var server = new TestHttpServer(async (request, stream, ct) =>
        {
            await TestHttpServer.WriteHead(stream, "200 OK", Archive.Length, ct);
            await stream.WriteAsync(Archive.AsMemory(0, 100), ct);
            await Task.Delay(Timeout.Infinite, ct);
        });
        var lockPath = _world.WriteLock(FetchWorld.EtcdLockEntry($"{server.BaseUrl}/etcd.tar.gz", Checksum));

        var error = await Assert.ThrowsAsync<FetchException>(() => _world.FetchAsync(lockPath));

        Assert.Contains("server stalled", error.Message);
        // Counted on the client side: under load a stalled attempt can time out before the server logs its request.
        Assert.Equal(FetchWorld.Quick.Retries, _world.Reporter.Lines.Count(l => l.Contains("server stalled)); retrying", StringComparison.Ordinal)));
        Assert.NotEmpty(server.Requests);
        Assert.Empty(_world.CacheEntries());
    }

    [Fact]
    public async Task GivenAServerAnswering503Once_WhenFetching_ThenTheRetrySucceeds()
    {
        var calls = 0;
        await using var server = new TestHttpServer(async (request, stream, ct) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
                await TestHttpServer.Respond(stream, "503 Service Unavailable", [], ct);
            else
                await TestHttpServer.ServeFile(request, stream, new Dictionary<string, byte[]> { ["/etcd.tar.gz"] = Archive }, ct);
        });
        var lockPath = _world.WriteLock(FetchWorld.EtcdLockEntry($"{server.BaseUrl}/etcd.tar.gz", Checksum));

        var result = await _world.FetchAsync(lockPath);

        Assert.True(File.Exists(result.FileFor(Arch.Amd64, "/opt/k8s/bin/etcd").LocalPath));
        Assert.Equal(2, server.Requests.Count);
        Assert.Contains(_world.Reporter.Lines, l => l.Contains("503 ServiceUnavailable); retrying", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GivenARedirect_WhenFetching_ThenItIsFollowed()
    {
        await using var server = new TestHttpServer(async (request, stream, ct) =>
        {
            if (request.Path == "/release/etcd.tar.gz")
                await TestHttpServer.Respond(stream, "302 Found", [], ct, "Location: /cdn/blob-1234");
            else
                await TestHttpServer.ServeFile(request, stream, new Dictionary<string, byte[]> { ["/cdn/blob-1234"] = Archive }, ct);
        });
        var lockPath = _world.WriteLock(FetchWorld.EtcdLockEntry($"{server.BaseUrl}/release/etcd.tar.gz", Checksum));

        var result = await _world.FetchAsync(lockPath);

        Assert.True(File.Exists(result.FileFor(Arch.Amd64, "/opt/k8s/bin/etcd").LocalPath));
        Assert.Equal(["/release/etcd.tar.gz", "/cdn/blob-1234"], server.Requests.Select(r => r.Path));
    }

    [Fact]
    public async Task GivenAMirrorUrl_WhenFetching_ThenTheSameFileNameIsTakenFromTheMirror()
    {
        await using var upstream = new TestHttpServer(TestHttpServer.Files(new Dictionary<string, byte[]>()));
        await using var mirror = new TestHttpServer(TestHttpServer.Files(new Dictionary<string, byte[]> { ["/k8s/etcd-v9-linux-amd64.tar.gz"] = Archive }));
        var lockPath = _world.WriteLock(FetchWorld.EtcdLockEntry($"{upstream.BaseUrl}/releases/v9/etcd-v9-linux-amd64.tar.gz", Checksum));

        var result = await _world.FetchAsync(lockPath, mirrors: [$"{mirror.BaseUrl}/k8s"]);

        Assert.True(File.Exists(result.FileFor(Arch.Amd64, "/opt/k8s/bin/etcd").LocalPath));
        Assert.Empty(upstream.Requests);
        Assert.Equal("/k8s/etcd-v9-linux-amd64.tar.gz", Assert.Single(mirror.Requests).Path);
    }

    [Fact]
    public async Task GivenAMirrorUrlWithoutTheFile_WhenFetching_ThenTheArtifactUrlIsTriedNext()
    {
        await using var upstream = new TestHttpServer(TestHttpServer.Files(new Dictionary<string, byte[]> { ["/releases/etcd.tar.gz"] = Archive }));
        await using var mirror = new TestHttpServer(TestHttpServer.Files(new Dictionary<string, byte[]>()));
        var lockPath = _world.WriteLock(FetchWorld.EtcdLockEntry($"{upstream.BaseUrl}/releases/etcd.tar.gz", Checksum));

        var result = await _world.FetchAsync(lockPath, mirrors: [mirror.BaseUrl]);

        Assert.True(File.Exists(result.FileFor(Arch.Amd64, "/opt/k8s/bin/etcd").LocalPath));
        Assert.Equal("/etcd.tar.gz", Assert.Single(mirror.Requests).Path);
        Assert.Single(upstream.Requests);
        Assert.Contains(_world.Reporter.Lines, l => l.Contains($"{mirror.BaseUrl}/etcd.tar.gz failed: {mirror.BaseUrl}/etcd.tar.gz: 404", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GivenACacheEntryChangedOnDisk_WhenFetching_ThenItIsQuarantinedAndFetchedAgain()
    {
        await using var server = new TestHttpServer(TestHttpServer.Files(new Dictionary<string, byte[]> { ["/etcd.tar.gz"] = Archive }));
        var lockPath = _world.WriteLock(FetchWorld.EtcdLockEntry($"{server.BaseUrl}/etcd.tar.gz", Checksum));
        await _world.FetchAsync(lockPath);
        File.WriteAllText(Path.Combine(_world.CacheDir, "sha256", Checksum), "bit rot");

        await _world.FetchAsync(lockPath);

        Assert.Equal(2, server.Requests.Count);
        Assert.Equal(Archive, File.ReadAllBytes(Path.Combine(_world.CacheDir, "sha256", Checksum)));
        Assert.Equal("bit rot", File.ReadAllText(Assert.Single(_world.Quarantined())));
    }

    [Fact]
    public async Task GivenAMirrorFolderAndOffline_WhenFetching_ThenTheFileIsVerifiedAndCachedWithoutNetwork()
    {
        var folder = Path.Combine(_world.Root, "carried-in");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "etcd-v9-linux-amd64.tar.gz"), Archive);
        // Port 9 (discard) on loopback: nothing listens, so any network use would fail the test.
        var lockPath = _world.WriteLock(FetchWorld.EtcdLockEntry("http://127.0.0.1:9/etcd-v9-linux-amd64.tar.gz", Checksum));

        var result = await _world.FetchAsync(lockPath, mirrors: [folder], offline: true);

        Assert.True(File.Exists(result.FileFor(Arch.Amd64, "/opt/k8s/bin/etcd").LocalPath));
        Assert.Single(_world.CacheEntries());
        Assert.True(File.Exists(Path.Combine(folder, "etcd-v9-linux-amd64.tar.gz")), "the carried-in file is left in place");
    }

    [Fact]
    public async Task GivenAMirrorFolderWithAWrongFile_WhenFetching_ThenItIsRefusedAsAnIntegrityError()
    {
        var folder = Path.Combine(_world.Root, "carried-in");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "etcd.tar.gz"), FetchWorld.EtcdArchive(marker: "x"));
        var lockPath = _world.WriteLock(FetchWorld.EtcdLockEntry("http://127.0.0.1:9/etcd.tar.gz", Checksum));

        var error = await Assert.ThrowsAsync<IntegrityException>(() => _world.FetchAsync(lockPath, mirrors: [folder], offline: true));

        Assert.Contains(Path.Combine(folder, "etcd.tar.gz"), error.Message);
        Assert.Empty(_world.CacheEntries());
    }

    [Fact]
    public async Task GivenAnEmptyCacheAndOffline_WhenFetching_ThenEveryMissingArtifactIsNamed()
    {
        var lockPath = _world.WriteLock(
            FetchWorld.EtcdLockEntry("http://127.0.0.1:9/etcd.tar.gz", Checksum),
            """
              - name: nginx
                version: 1.22.1
                arch: any
                kind: source
                url: http://127.0.0.1:9/nginx-1.22.1.tar.gz
                sha256: 9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31

            """);

        var error = await Assert.ThrowsAsync<UserInputException>(() => _world.FetchAsync(lockPath, offline: true));

        Assert.Contains("--offline: 2 artifact(s)", error.Message);
        Assert.Contains("etcd 9.0.0 amd64: etcd.tar.gz", error.Message);
        Assert.Contains("nginx 1.22.1 any: nginx-1.22.1.tar.gz", error.Message);
    }

    [Fact]
    public async Task GivenALockThatMissesABinaryTheRolesNeed_WhenFetching_ThenEachMissingPathIsNamed()
    {
        _world.WriteSite(roles: "[etcd, master, worker]");
        // A lock with the etcd role's binaries only.
        var etcdOnly = ComponentTable.FetchedBinariesFor(Roles.Etcd).ToList();
        var lockPath = _world.WriteLock("  - name: etcd\n    version: 9.0.0\n    arch: amd64\n    url: http://127.0.0.1:9/etcd.tar.gz\n" +
            $"    sha256: {Checksum}\n    files:\n" + string.Concat(etcdOnly.Select(p => $"      etcd-v9/{Path.GetFileName(p)}: {p}\n")));

        var error = await Assert.ThrowsAsync<UserInputException>(() => _world.FetchAsync(lockPath));

        foreach (var path in new[] { "/opt/k8s/bin/kube-apiserver", "/opt/k8s/bin/kubelet", "/opt/k8s/bin/containerd", "/opt/k8s/bin/runc", "/opt/cni/bin/bridge", "/opt/k8s/bin/kubectl" })
            Assert.Contains($"{path} for amd64 (needed by n1)", error.Message);
        Assert.DoesNotContain("/opt/k8s/bin/etcd ", error.Message);
        Assert.DoesNotContain("/opt/k8s/bin/etcdctl ", error.Message);
    }
}
