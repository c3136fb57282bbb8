using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Packaging;
using Bundler.Rollout;
using Bundler.Tests.Cli;
using Bundler.Tests.Packaging;

namespace Bundler.Tests.Rollout;

/// <summary>A real build of a three-member site (m1 etcd+master, w1 and w2 etcd+worker): the build that runs on the site.</summary>
public sealed class RunningSiteFixture : IAsyncLifetime
{
    public BundleFixture Fixture { get; } = new();

    public BundleManifest Running { get; private set; } = null!;

    /// <summary>The site file every test starts from: the fixture's site with three etcd members.</summary>
    public string SiteYaml { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Fixture.SiteYaml = Fixture.SiteYaml.Replace("roles: [worker]", "roles: [etcd, worker]", StringComparison.Ordinal);
        SiteYaml = Fixture.SiteYaml;
        var built = await Fixture.BuildAsync();
        Running = built.Package!.Manifest;
    }

    public Task DisposeAsync()
    {
        Fixture.Dispose();
        return Task.CompletedTask;
    }

    public SiteSpec Site(string yaml) => SiteLoader.Parse(yaml, Fixture.SitePath, PinCatalog.FromFile(Fixture.LockPath)).Site;

    public LockFile Lock => LockFile.Load(Fixture.LockPath);

    public IReadOnlyList<string> Refusals(string yaml, BundleManifest? running = null) => RolloutChecks.Refusals(Site(yaml), Lock, running ?? Running);
}

/// <summary>SPEC §8: what <c>plan</c> (and <c>build</c>) refuse, each named, against a real running build.</summary>
public sealed class RolloutChecksTests(RunningSiteFixture site) : IClassFixture<RunningSiteFixture>
{
    private string Yaml => site.SiteYaml;

    [Fact]
    public void GivenTheSameSite_WhenChecked_ThenNothingIsRefused()
    {
        Assert.Empty(site.Refusals(Yaml));
    }

    [Theory]
    [InlineData("serviceCidr: 10.96.0.0/16", "network.serviceCidr: 10.254.0.0/16 -> 10.96.0.0/16 on a running site")]
    [InlineData("podCidr: 172.31.0.0/16", "network.podCidr: 172.30.0.0/16 -> 172.31.0.0/16 on a running site")]
    [InlineData("clusterDomain: corp.local", "network.clusterDomain: cluster.local -> corp.local on a running site")]
    public void GivenARunningSite_WhenItsNetworkChanges_ThenTheChangeIsRefusedNamingTheField(string field, string refusal)
    {
        var changed = Yaml.Replace("network:\n", $"network:\n  {field}\n", StringComparison.Ordinal);

        var refusals = site.Refusals(changed);

        Assert.Contains(refusals, r => r.StartsWith(refusal, StringComparison.Ordinal));
    }

    [Fact]
    public void GivenThreeMembers_WhenTwoAreRemovedAtOnce_ThenQuorumLossIsRefusedAndRemovingOneIsNot()
    {
        var two = Yaml.Replace("ip: 10.88.0.22\n    roles: [etcd, worker]", "ip: 10.88.0.22\n    roles: [worker]", StringComparison.Ordinal);
        var one = two.Replace("ip: 10.88.0.21\n    roles: [etcd, worker]", "ip: 10.88.0.21\n    roles: [worker]", StringComparison.Ordinal);

        Assert.Empty(site.Refusals(two));
        var refusal = Assert.Single(site.Refusals(one));
        Assert.Equal("etcd members: removing w1 (10.88.0.21), w2 (10.88.0.22) leaves 1 of 3, fewer than the quorum of 2 the 3-member cluster needs to agree " +
                     "to the removal: remove at most 1 per build", refusal);
    }

    [Fact]
    public void GivenAnOlderKubernetesThanRuns_WhenChecked_ThenTheDowngradeIsRefused()
    {
        var running = site.Running with { Site = site.Running.Site with { Kubernetes = "1.37.2" } };

        var refusal = Assert.Single(site.Refusals(Yaml, running));

        Assert.StartsWith("kubernetes: 1.37.2 -> 1.36.0 is a downgrade", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenAKubernetesTwoMinorVersionsOn_WhenChecked_ThenTheSkippedMinorIsNamedAndOneMinorOnIsFine()
    {
        var skipping = site.Running with { Site = site.Running.Site with { Kubernetes = "1.34.3" } };
        var next = site.Running with { Site = site.Running.Site with { Kubernetes = "1.35.9" } };

        var refusal = Assert.Single(site.Refusals(Yaml, skipping));

        Assert.StartsWith("kubernetes: 1.34.3 -> 1.36.0 skips 1.35; upgrade one minor version at a time", refusal, StringComparison.Ordinal);
        Assert.Empty(site.Refusals(Yaml, next));
    }

    [Theory]
    [InlineData("3.4.23", "etcd: 3.4.23 -> 3.6.14 skips a minor version")]
    [InlineData("3.7.1", "etcd: 3.7.1 -> 3.6.14 is a downgrade of its minor version")]
    public void GivenAnEtcdThatWouldSkipOrGoBackAMinorVersion_WhenChecked_ThenItIsRefused(string runningEtcd, string refusal)
    {
        var running = site.Running with
        {
            Artifacts = [.. site.Running.Artifacts.Select(a => a.Name == "etcd" ? a with { Version = runningEtcd } : a)],
        };

        Assert.StartsWith(refusal, Assert.Single(site.Refusals(Yaml, running)), StringComparison.Ordinal);
        Assert.Empty(site.Refusals(Yaml, site.Running with { Artifacts = [.. site.Running.Artifacts.Select(a => a.Name == "etcd" ? a with { Version = "3.5.30" } : a)] }));
    }

    [Fact]
    public void GivenAMemberAddedAndAnotherRemoved_WhenChecked_ThenOneBuildMayNotDoBoth()
    {
        var swapped = Yaml.Replace("ip: 10.88.0.22\n    roles: [etcd, worker]", "ip: 10.88.0.22\n    roles: [worker]", StringComparison.Ordinal)
                      + "  - name: e9\n    ip: 10.88.0.29\n    roles: [etcd]\n";

        var refusal = Assert.Single(site.Refusals(swapped));

        Assert.StartsWith("etcd members: e9 (10.88.0.29) added and w2 (10.88.0.22) removed in one build", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenAMemberAtANewAddress_WhenChecked_ThenItIsRefused()
    {
        var moved = Yaml.Replace("ip: 10.88.0.22", "ip: 10.88.0.23", StringComparison.Ordinal);

        Assert.Contains(site.Refusals(moved), r => r.StartsWith("etcd member w2: address 10.88.0.22 -> 10.88.0.23", StringComparison.Ordinal));
    }

    [Fact]
    public void GivenANodeRemovedFromTheMiddle_WhenChecked_ThenTheNextNodesPodSubnetWouldMoveAndItIsRefused()
    {
        var withoutW1 = Yaml.Replace("  - name: w1\n    ip: 10.88.0.21\n    roles: [etcd, worker]\n", "", StringComparison.Ordinal);

        Assert.Contains(site.Refusals(withoutW1), r => r.StartsWith("nodes: w2's pod subnet 172.30.2.0/24 -> 172.30.1.0/24", StringComparison.Ordinal));
    }

    [Fact]
    public void GivenAPlanRefusedOnTheCommandLine_WhenRun_ThenItExits2NamingWhyAndWritesNothing()
    {
        using var dir = new TempDir();
        var sitePath = dir.File("site.yaml");
        File.WriteAllText(sitePath, Yaml.Replace("network:\n", "network:\n  serviceCidr: 10.96.0.0/16\n", StringComparison.Ordinal));
        var state = site.Fixture.State;
        var before = Directory.EnumerateFiles(state, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);
        var outBefore = Directory.EnumerateFiles(site.Fixture.Out()).ToDictionary(f => f, f => File.GetLastWriteTimeUtc(f));

        var plan = CliRunner.Run("plan", sitePath, "--pins", site.Fixture.LockPath, "--mirror", site.Fixture.Mirror, "--offline", "--cache", site.Fixture.Cache,
            "--state", state, "--out", site.Fixture.Out());
        var build = CliRunner.Run("build", sitePath, "--pins", site.Fixture.LockPath, "--mirror", site.Fixture.Mirror, "--offline", "--cache", site.Fixture.Cache,
            "--state", state, "--out", site.Fixture.Out());

        Assert.Equal(2, plan.ExitCode);
        Assert.Contains("cannot roll out safely", plan.Error, StringComparison.Ordinal);
        Assert.Contains("network.serviceCidr: 10.254.0.0/16 -> 10.96.0.0/16", plan.Error, StringComparison.Ordinal);
        Assert.Equal(2, build.ExitCode);
        Assert.Contains("network.serviceCidr: 10.254.0.0/16 -> 10.96.0.0/16", build.Error, StringComparison.Ordinal);
        var after = Directory.EnumerateFiles(state, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        Assert.All(before, b => Assert.Equal(b.Value, after[b.Key]));
        Assert.Equal(outBefore, Directory.EnumerateFiles(site.Fixture.Out()).ToDictionary(f => f, f => File.GetLastWriteTimeUtc(f)));
    }
}
