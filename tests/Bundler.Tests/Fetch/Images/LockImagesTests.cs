using Bundler.Configuration;
using Bundler.Fetch.Images;

namespace Bundler.Tests.Fetch.Images;

/// <summary>The lock's <c>images:</c> (SPEC §7): every image pinned by digest, every reference strictly valid.</summary>
public sealed class LockImagesTests
{
    private const string Digest = "sha256:f548e0e8e3dc1896ca956272154dde3314e8cc4fde0a57577ee9fa1c63f5baf4";
    private const string Runc = "  - name: runc\n    version: 1.4.3\n    arch: amd64\n    url: https://example.org/runc\n" +
                                "    sha256: 9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31\n    install: /opt/k8s/bin/runc\n";

    private static string Lock(string images) => "kubernetes: 1.36.0\nartifacts:\n" + Runc + "images:\n" + images;

    /// <summary>Each row: the images: section, and the diagnostic (file:line:col field: problem) it must give.</summary>
    public static TheoryData<string, string> BadImages => new()
    {
        { "  - name: pause\n    ref: registry.k8s.io/pause:3.10.2\n", "lock.yaml:10:5 images[0].digest: 'registry.k8s.io/pause:3.10.2' has no digest: a tag alone is refused" },
        { $"  - name: pause\n    ref: registry.k8s.io/pause:3.10.2\n    digest: sha256:F548E0E8\n", "lock.yaml:12:13 images[0].digest: 'sha256:F548E0E8' is not a sha256 digest; allowed: sha256: and 64 lower-case hexadecimal digits" },
        { $"  - name: pause\n    ref: pause:3.10.2\n    digest: {Digest}\n", "lock.yaml:11:10 images[0].ref: 'pause:3.10.2' is not an image reference: names no registry host" },
        { $"  - name: pause\n    ref: registry.k8s.io/Pause:3.10.2\n    digest: {Digest}\n", "lock.yaml:11:10 images[0].ref: 'registry.k8s.io/Pause:3.10.2' is not an image reference: 'Pause' is not a repository path" },
        { $"  - name: pause\n    ref: \"registry.k8s.io/pause:3.10.2\\n\"\n    digest: {Digest}\n", "lock.yaml:11:10 images[0].ref: contains a newline; allowed: one line of printable text" },
        { $"  - name: pause\n    ref: \"registry.k8s.io/pause: 3.10.2\"\n    digest: {Digest}\n", "images[0].ref: 'registry.k8s.io/pause: 3.10.2' is not an image reference: contains whitespace" },
        { $"  - name: pause\n    ref: registry.k8s.io/pause:-3\n    digest: {Digest}\n", "images[0].ref: 'registry.k8s.io/pause:-3' is not an image reference: ':-3' is not a tag" },
        { $"  - name: pause\n    ref: registry.k8s.io/pause:3.10.2@sha256:{new string('0', 64)}\n    digest: {Digest}\n", $"lock.yaml:11:10 images[0].ref: names digest sha256:{new string('0', 64)}, but digest: is {Digest}" },
        { $"  - name: Pause\n    ref: registry.k8s.io/pause:3.10.2\n    digest: {Digest}\n", "lock.yaml:10:11 images[0].name: 'Pause' is not a valid image name" },
        { $"  - name: pause\n    ref: registry.k8s.io/pause:3.10.2\n    digest: {Digest}\n    tag: x\n", "lock.yaml:13:5 images[0].tag: unknown key" },
        { $"  - name: pause\n    ref: registry.k8s.io/pause:3.10.2\n    digest: {Digest}\n  - name: pause\n    ref: registry.k8s.io/pause:3.10.1\n    digest: {Digest}\n", "lock.yaml:13:5 images[1].name: 'pause' is already pinned at line 10" },
    };

    [Theory]
    [MemberData(nameof(BadImages))]
    public void GivenABadImagePin_WhenLoadingTheLock_ThenTheErrorNamesFileLineColumnAndField(string images, string expected)
    {
        var error = Assert.Throws<UserInputException>(() => LockFile.Parse(Lock(images), "lock.yaml"));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void GivenARefThatCarriesTheSameDigest_WhenLoading_ThenItIsAcceptedAndTheRefIsKeptWithoutIt()
    {
        var lockFile = LockFile.Parse(Lock($"  - name: pause\n    ref: registry.k8s.io/pause:3.10.2@{Digest}\n    digest: {Digest}\n"), "lock.yaml");

        var pause = Assert.Single(lockFile.Images);
        Assert.Equal(("registry.k8s.io/pause:3.10.2", $"registry.k8s.io/pause@{Digest}"), (pause.Ref, pause.PinnedRef));
    }

    [Fact]
    public void GivenTheShippedLock_WhenLoading_ThenPauseAndCorednsArePinnedByIndexDigest()
    {
        var lockFile = LockFile.Load(Path.Combine(TestPaths.Repository, "pins", "1.36.0.yaml"));

        Assert.Equal(
            [
                ("pause", "registry.k8s.io/pause:3.10.2", "sha256:f548e0e8e3dc1896ca956272154dde3314e8cc4fde0a57577ee9fa1c63f5baf4"),
                ("coredns", "registry.k8s.io/coredns/coredns:v1.14.2", "sha256:e7e6440cfd1e919280958f5b5a6ab2b184d385bba774c12ad2a9e1e4183f90d9"),
            ],
            lockFile.Images.Select(i => (i.Name, i.Ref, i.Digest)));
        Assert.Equal("registry.k8s.io", lockFile.FindImage("coredns")!.Reference.ApiHost);
    }

    [Fact]
    public void GivenALockWithoutImages_WhenLoading_ThenItHasNone()
    {
        var lockFile = LockFile.Parse("kubernetes: 1.36.0\nartifacts:\n" + Runc, "lock.yaml");

        Assert.Empty(lockFile.Images);
    }

    public static TheoryData<string, string, string, string?, string> GoodReferences => new()
    {
        // text, registry, repository, tag, API host
        { "registry.k8s.io/coredns/coredns:v1.14.2", "registry.k8s.io", "coredns/coredns", "v1.14.2", "registry.k8s.io" },
        { "docker.io/busybox:1.36", "docker.io", "library/busybox", "1.36", "registry-1.docker.io" },
        { "index.docker.io/library/busybox:1.36", "docker.io", "library/busybox", "1.36", "registry-1.docker.io" },
        { "docker.io/bitnami/redis:7", "docker.io", "bitnami/redis", "7", "registry-1.docker.io" },
        { "127.0.0.1:5000/test/busybox", "127.0.0.1:5000", "test/busybox", null, "127.0.0.1:5000" },
        { "localhost/a__b/c-d.e_f", "localhost", "a__b/c-d.e_f", null, "localhost" },
        { "[::1]:5000/x:Tag_1", "[::1]:5000", "x", "Tag_1", "[::1]:5000" },
    };

    [Theory]
    [MemberData(nameof(GoodReferences))]
    public void GivenAValidReference_WhenParsing_ThenItIsNormalizedTheWayContainerdNamesImages(string text, string registry, string repository, string? tag, string apiHost)
    {
        var reference = ImageReference.TryParse(text, out var problem);

        Assert.True(reference is not null, problem);
        Assert.Equal((registry, repository, tag, apiHost), (reference.Registry, reference.Repository, reference.Tag, reference.ApiHost));
    }

    [Theory]
    [InlineData("busybox:1.36", "names no registry host")]
    [InlineData("library/busybox", "names no registry host")]
    [InlineData("registry.k8s.io/pause:", "':' is not a tag")]
    [InlineData("registry.k8s.io//pause", "is not a repository path")]
    [InlineData("registry.k8s.io/pause-:1", "is not a repository path")]
    [InlineData("-bad.io/pause:1", "is not a registry host")]
    [InlineData("registry.k8s.io/pause@sha256:abc", "is not a sha256 digest")]
    [InlineData("registry.k8s.io/pause\t:1", "contains whitespace")]
    [InlineData("registry.k8s.io/päuse:1", "non-ASCII")]
    public void GivenAnInvalidReference_WhenParsing_ThenItIsRefusedSayingWhy(string text, string problem)
    {
        Assert.Null(ImageReference.TryParse(text, out var actual));
        Assert.Contains(problem, actual);
    }

    [Theory]
    [InlineData("registry.k8s.io=https://mirror.example.org", "registry.k8s.io", "https://mirror.example.org/")]
    [InlineData("index.docker.io=http://10.0.0.5:5000/", "docker.io", "http://10.0.0.5:5000/")]
    [InlineData("127.0.0.1:5000=http://127.0.0.1:6000", "127.0.0.1:5000", "http://127.0.0.1:6000/")]
    public void GivenARegistryMirrorOption_WhenParsing_ThenRegistryAndUrlAreRead(string text, string registry, string url)
    {
        var mirror = RegistryMirror.Parse(text);

        Assert.Equal((registry, url), (mirror.Registry, mirror.Url.ToString()));
    }

    [Theory]
    [InlineData("https://mirror.example.org", "is not REGISTRY=URL")]
    [InlineData("registry.k8s.io=mirror.example.org", "is not an http(s) URL")]
    [InlineData("registry.k8s.io=ftp://mirror.example.org", "is not an http(s) URL")]
    [InlineData("registry k8s.io=https://mirror.example.org", "is not a registry host")]
    [InlineData("registry.k8s.io=https://user:secret@mirror.example.org", "the URL carries credentials")]
    [InlineData("registry.k8s.io=https://mirror.example.org/k8s", "has a path, query or fragment")]
    public void GivenABadRegistryMirrorOption_WhenParsing_ThenItIsRefusedNamingTheValue(string text, string problem)
    {
        var error = Assert.Throws<UserInputException>(() => RegistryMirror.Parse(text));

        Assert.StartsWith($"--registry-mirror {text.Replace("user:secret", "***", StringComparison.Ordinal)}: ", error.Message);
        Assert.Contains(problem, error.Message);
        Assert.Contains("allowed: REGISTRY=URL", error.Message);
        Assert.DoesNotContain("user:secret", error.Message);
    }
}
