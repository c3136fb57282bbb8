using Bundler.Configuration;
using Xunit;

namespace Bundler.Tests.Configuration;

public sealed class LockFileTests
{
    private const string Sha256 = "9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31";

    private static string Lock(string artifactLines) =>
        "kubernetes: 1.36.0\nartifacts:\n  - name: runc\n    version: 1.4.3\n    url: https://example.org/runc.amd64\n" + artifactLines;

    /// <summary>Each row: the rest of one artifact, and the diagnostic (file:line:col field: problem) it must give.</summary>
    public static TheoryData<string, string> BadLocks => new()
    {
        { "    arch: amd64\n    install: /opt/k8s/bin/runc\n", "lock.yaml:3:5 artifacts[0].sha256: no checksum: the artifact is refused, never fetched unverified" },
        { $"    arch: amd64\n    sha256: {Sha256}\n    sha512: {Sha256}{Sha256}\n    install: /opt/k8s/bin/runc\n", "lock.yaml:8:13 artifacts[0].sha512: both sha256: and sha512: are given; allowed: exactly one checksum" },
        { $"    arch: x86_64\n    sha256: {Sha256}\n    install: /opt/k8s/bin/runc\n", "lock.yaml:6:11 artifacts[0].arch: 'x86_64' is not an architecture; allowed: amd64, arm64, any" },
        { $"    arch: amd64\n    sha256: {Sha256}\n    instal: /opt/k8s/bin/runc\n", "lock.yaml:8:5 artifacts[0].instal: unknown key; did you mean 'install'?" },
        { $"    arch: amd64\n    sha256: {Sha256[..60]}\n    install: /opt/k8s/bin/runc\n", "lock.yaml:7:13 artifacts[0].sha256: '" + Sha256[..60] + "' is not a sha256 checksum; allowed: 64 hexadecimal digits" },
        { $"    arch: amd64\n    sha256: {Sha256}\n", "lock.yaml:3:5 artifacts[0]: says neither which files to take (files:) nor where to install it (install:)" },
        { $"    arch: amd64\n    sha256: {Sha256}\n    install: opt/runc\n", "lock.yaml:8:14 artifacts[0].install: 'opt/runc' is not an absolute node path" },
        // Every lock value has a grammar: a newline in any of them would add lines to the unit files it is rendered into.
        { $"    arch: amd64\n    sha256: {Sha256}\n    install: \"/opt/k8s/bin/runc\\nExecStartPre=/bin/sh\"\n", "lock.yaml:8:14 artifacts[0].install: contains a newline; allowed: one line of printable text" },
        { $"    arch: amd64\n    sha256: {Sha256}\n    install: /opt/k8s/../../etc/shadow\n", "lock.yaml:8:14 artifacts[0].install: '/opt/k8s/../../etc/shadow' is not an absolute node path" },
        { $"    arch: amd64\n    sha256: {Sha256}\n    install: /opt/k8s/bin/my runc\n", "lock.yaml:8:14 artifacts[0].install: '/opt/k8s/bin/my runc' is not an absolute node path" },
        { $"    arch: amd64\n    sha256: {Sha256}\n    files:\n      ../runc: /opt/k8s/bin/runc\n", "lock.yaml:9:7 artifacts[0].files: '../runc' is not an archive member path" },
        { $"    arch: any\n    kind: binary\n    sha256: {Sha256}\n    install: /opt/k8s/bin/runc\n", "lock.yaml:7:11 artifacts[0].kind: 'binary' is not a kind; allowed: source" },
    };

    [Theory]
    [MemberData(nameof(BadLocks))]
    public void GivenABadArtifact_WhenLoadingTheLock_ThenTheErrorNamesFileLineColumnAndField(string rest, string expected)
    {
        var error = Assert.Throws<UserInputException>(() => LockFile.Parse(Lock(rest), "lock.yaml"));

        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("\"1.4.3\\nExecStartPre=/bin/sh -c id\"", "lock.yaml:4:14 artifacts[0].version: contains a newline; allowed: one line of printable text")]
    [InlineData("\"1.4.3 ; id\"", "lock.yaml:4:14 artifacts[0].version: '1.4.3 ; id' is not a version")]
    [InlineData("$(id)", "lock.yaml:4:14 artifacts[0].version: '$(id)' is not a version")]
    public void GivenAVersionThatIsNotAVersion_WhenLoadingTheLock_ThenItIsRefusedAtItsPlace(string version, string expected)
    {
        var text = Lock($"    arch: amd64\n    sha256: {Sha256}\n    install: /opt/k8s/bin/runc\n").Replace("version: 1.4.3", "version: " + version);

        var error = Assert.Throws<UserInputException>(() => LockFile.Parse(text, "lock.yaml"));

        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("\"https://example.org/runc amd64\"", "is not an http(s) URL")]
    [InlineData("\"https://example.org/runc\\n\"", "contains a newline")]
    [InlineData("\"https://example.org/$(id)\"", "is not an http(s) URL")]
    [InlineData("file:///etc/shadow", "is not an http(s) URL")]
    public void GivenAUrlThatIsNotAPlainHttpUrl_WhenLoadingTheLock_ThenItIsRefused(string url, string expected)
    {
        var text = Lock($"    arch: amd64\n    sha256: {Sha256}\n    install: /opt/k8s/bin/runc\n").Replace("url: https://example.org/runc.amd64", "url: " + url);

        var error = Assert.Throws<UserInputException>(() => LockFile.Parse(text, "lock.yaml"));

        Assert.Contains("lock.yaml:5:10 artifacts[0].url: ", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void GivenTheSameNameTwiceForOneArch_WhenLoading_ThenTheSecondIsRefused()
    {
        var one = $"  - name: runc\n    version: 1.4.3\n    arch: amd64\n    url: https://example.org/runc\n    sha256: {Sha256}\n    install: /opt/k8s/bin/runc\n";

        var error = Assert.Throws<UserInputException>(() => LockFile.Parse("kubernetes: 1.36.0\nartifacts:\n" + one + one, "lock.yaml"));

        Assert.Contains("lock.yaml:9:5 artifacts[1].name: 'runc' for amd64 is already pinned at line 3", error.Message);
    }

    [Fact]
    public void GivenTwoArtifactsInstallingTheSameNodePath_WhenLoading_ThenTheSecondIsRefused()
    {
        var text = "kubernetes: 1.36.0\nartifacts:\n" +
                   $"  - name: runc\n    version: 1.4.3\n    arch: amd64\n    url: https://example.org/runc\n    sha256: {Sha256}\n    install: /opt/k8s/bin/runc\n" +
                   $"  - name: runc-static\n    version: 1.4.3\n    arch: any\n    url: https://example.org/runc-static\n    sha256: {Sha256}\n    install: /opt/k8s/bin/runc\n";

        var error = Assert.Throws<UserInputException>(() => LockFile.Parse(text, "lock.yaml"));

        Assert.Contains("lock.yaml:9:5 runc-static: /opt/k8s/bin/runc for amd64 is already provided by 'runc' (line 3)", error.Message);
        Assert.DoesNotContain("for arm64", error.Message);
    }

    [Fact]
    public void GivenTheShippedLock_WhenLoading_ThenItPinsEveryBinaryForBothArchesAndTheNginxSource()
    {
        var path = ToolPaths.Find("pins") + "/1.36.0.yaml";

        var lockFile = LockFile.Load(path);

        Assert.Equal("1.36.0", lockFile.Kubernetes);
        var nginx = Assert.Single(lockFile.Artifacts, a => a.Kind == ArtifactKind.Source);
        Assert.Equal(("nginx", "1.30.3", "any", "sha256"), (nginx.Name, nginx.Version, nginx.Arch, nginx.Algorithm));
        Assert.All(lockFile.Artifacts.Where(a => a.Name == "kubernetes-server"), a => Assert.Equal("sha512", a.Algorithm));
        var everything = Bundler.Layout.ComponentTable.FetchedBinariesFor(Roles.Etcd | Roles.Master | Roles.Worker).ToList();
        foreach (var arch in new[] { Arch.Amd64, Arch.Arm64 })
        {
            var provided = lockFile.Artifacts.Where(a => a.Kind == ArtifactKind.Binary && a.AppliesTo(arch)).SelectMany(a => a.NodePaths).ToHashSet();
            Assert.All(everything, p => Assert.Contains(p, provided));
        }
    }

    [Fact]
    public void GivenTheExampleSite_WhenCheckingTheShippedLock_ThenNothingIsMissing()
    {
        var pins = PinCatalog.Default();
        var site = SiteLoader.Load(ToolPaths.Find("sites") + "/example/site.yaml", pins).Site;
        var lockFile = LockFile.Load(pins.FileFor(site.Kubernetes));

        var error = Record.Exception(() => lockFile.CheckProvides(site));

        Assert.Null(error);
        var provided = lockFile.Artifacts.Where(a => a.Kind == ArtifactKind.Binary && a.AppliesTo(Arch.Amd64)).SelectMany(a => a.NodePaths).ToHashSet();
        Assert.All(site.Nodes.SelectMany(n => Bundler.Layout.ComponentTable.FetchedBinariesFor(n.Roles)), path => Assert.Contains(path, provided));
    }

    [Fact]
    public void GivenAnArtifactUrl_WhenAskingItsFileName_ThenTheLastPathSegmentIsUsed()
    {
        var lockFile = LockFile.Parse(Lock($"    arch: amd64\n    sha256: {Sha256}\n    install: /opt/k8s/bin/runc\n"), "lock.yaml");

        Assert.Equal("runc.amd64", lockFile.Artifacts[0].FileName);
    }
}
