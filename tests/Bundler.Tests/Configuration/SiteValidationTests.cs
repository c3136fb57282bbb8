using Bundler.Configuration;
using Bundler.Tests.Cli;

namespace Bundler.Tests.Configuration;

public class SiteValidationTests
{
    public static TheoryData<string> BadSites()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(TestPaths.TestData("Configuration", "bad"), "*.yaml").Order())
            data.Add(Path.GetFileName(file));
        return data;
    }

    [Fact]
    public void GivenTheBadSiteFiles_ThenThereAreAtLeastThirtyWithOneProblemEach()
    {
        Assert.True(BadSites().Count >= 30, $"only {BadSites().Count} bad site files");
    }

    [Theory]
    [MemberData(nameof(BadSites))]
    public void GivenABadSiteFile_WhenValidated_ThenTheProblemIsReportedAtItsPlaceWithExit2AndNothingIsWritten(string name)
    {
        using var dir = new TempDir();
        var site = dir.File(name);
        File.Copy(TestPaths.TestData("Configuration", "bad", name), site);
        var expected = File.ReadLines(site).First()["# expect: ".Length..];
        var before = dir.Listing();

        var result = CliRunner.Run("validate", site);

        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        Assert.Contains($"{site}:{expected}", result.Error);
        Assert.Equal(before, dir.Listing());
    }

    [Fact]
    public void GivenALockWhoseVersionCarriesAUnitLine_WhenValidated_ThenExit2NamesTheLockLineAndNothingIsWritten()
    {
        using var dir = new TempDir();
        var shipped = File.ReadAllText(Path.Combine(TestPaths.Repository, "pins", "1.36.0.yaml"));
        var etcd = shipped.IndexOf("- name: etcd", StringComparison.Ordinal);
        var version = shipped.IndexOf("version: ", etcd, StringComparison.Ordinal);
        var end = shipped.IndexOf('\n', version);
        var evil = shipped[..version] + "version: \"3.6.14\\nExecStartPre=/bin/sh -c 'id > /tmp/pwned'\"" + shipped[end..];
        var pins = dir.File("pins.yaml");
        File.WriteAllText(pins, evil);
        var line = evil[..version].Count(c => c == '\n') + 1;
        var before = dir.Listing();

        var result = CliRunner.Run("validate", TestPaths.ExampleSite, "--pins", pins);

        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        Assert.Contains($"{pins}:{line}:", result.Error, StringComparison.Ordinal);
        Assert.Contains(".version: contains a newline", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, dir.Listing());
    }

    [Fact]
    public void GivenAddonsAndImages_WhenLoaded_ThenTheyAreKeptInSiteOrderWithManifestFilesResolvedBesideTheSiteFile()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("addons"));
        File.WriteAllText(dir.File("addons", "dashboard.yaml"), "kind: List\n");
        var sha = new string('b', 64);
        var site = dir.File("site.yaml");
        File.WriteAllText(site, $"""
            name: lab
            kubernetes: 1.36.0
            nodes:
              - {"{"}name: k8s-01, ip: 192.168.93.45, roles: [etcd, master]{"}"}
            addons:
              - name: metrics-server
                manifest: {"{"} url: https://example.invalid/components.yaml, sha256: {sha.ToUpperInvariant()} {"}"}
                images: [coredns]
              - name: coredns
              - name: dashboard
                manifest: {"{"} file: addons/dashboard.yaml, sha256: {sha} {"}"}
            images: [pause]
            """);

        var loaded = SiteLoader.Load(site, PinCatalog.Default());

        var addons = loaded.Site.Addons;
        Assert.Equal(["metrics-server", "coredns", "dashboard"], addons.Select(a => a.Name));
        Assert.Equal(("https://example.invalid/components.yaml", sha), (addons[0].Manifest!.Url, addons[0].Manifest!.Sha256));
        Assert.Equal(["coredns"], addons[0].Images.Select(i => i.Name));
        Assert.True(addons[1].IsBuiltIn);
        Assert.Equal((dir.File("addons", "dashboard.yaml"), "addons/dashboard.yaml"), (addons[2].Manifest!.File, addons[2].Manifest!.Source));
        Assert.Equal(["pause"], loaded.Site.Images.Select(i => i.Name));
        Assert.Empty(loaded.Warnings);
    }

    [Fact]
    public void GivenNoAddonsKey_ThenCoreDnsIsOnAndAnEmptyListTurnsItOffWithAWarning()
    {
        const string nodes = "name: lab\nkubernetes: 1.36.0\nnodes:\n  - {name: k8s-01, ip: 192.168.93.45, roles: [etcd, master]}\n";

        var byDefault = SiteLoader.Parse(nodes, "site.yaml", PinCatalog.Default());
        var none = SiteLoader.Parse(nodes + "addons: []\n", "site.yaml", PinCatalog.Default());

        Assert.Equal(["coredns"], byDefault.Site.Addons.Select(a => a.Name));
        Assert.Empty(none.Site.Addons);
        var warning = Assert.Single(none.Warnings);
        Assert.Equal("warning: site.yaml:5:9 addons: coredns is not listed: the cluster gets no DNS service from this bundle; add '- name: coredns' unless the site brings its own DNS add-on",
            warning.ToString());
    }

    [Fact]
    public void GivenALockWithoutTheSandboxImage_WhenValidated_ThenExit2SaysEveryKubeletNodeNeedsIt()
    {
        using var dir = new TempDir();
        var shipped = File.ReadAllText(Path.Combine(TestPaths.Repository, "pins", "1.36.0.yaml"));
        var pins = dir.File("pins.yaml");
        File.WriteAllText(pins, shipped.Replace("  - name: pause\n", "  - name: pause-3-10\n", StringComparison.Ordinal));
        Directory.CreateDirectory(dir.File("keys"));
        foreach (var key in Directory.EnumerateFiles(Path.Combine(TestPaths.Repository, "pins", "keys")))
            File.Copy(key, dir.File("keys", Path.GetFileName(key)));

        var result = CliRunner.Run("validate", TestPaths.ExampleSite, "--pins", pins);

        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        Assert.Contains($"{TestPaths.ExampleSite} nodes: every node that runs a kubelet needs the sandbox image 'pause', which the lock {pins} does not pin; " +
                        "allowed: a name from the lock's images: (pause-3-10, coredns)", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenAFileWithManyProblems_WhenValidated_ThenEveryProblemIsReportedInOneRunInFileOrder()
    {
        var site = TestPaths.TestData("Configuration", "many-problems.yaml");

        var result = CliRunner.Run("validate", site);

        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] expected =
        [
            "2:7 name:", "4:7 arch:", "7:12 network.podCidr: 10.254.0.0/24 overlaps", "8:14 network.proxyMode:",
            "11:19 apiServer.localProxyPort:", "12:15 apiServer.extraSans[0]:", "14:17 pki.keyAlgorithm:",
            "17:9 nodes[0].ip:", "18:27 nodes[0].roles: unknown role 'wroker'; did you mean 'worker'?",
            "19:11 nodes[1].name:", "20:9 nodes[1].ip: 10.254.0.9 lies inside network.serviceCidr",
            "21:12 nodes[1].roles: no role given", "22:5 nodes[1].colour: unknown key",
        ];
        foreach (var e in expected)
            Assert.Contains(lines, l => l.StartsWith($"{site}:{e}", StringComparison.Ordinal));
        var positions = lines.Select(l => l[(site.Length + 1)..].Split(' ')[0].Split(':').Select(int.Parse).ToArray()).ToList();
        Assert.Equal(positions.OrderBy(p => p[0]).ThenBy(p => p[1]).Select(p => $"{p[0]}:{p[1]}"), positions.Select(p => $"{p[0]}:{p[1]}"));
    }

    [Fact]
    public void GivenAnEvenEtcdCountAndIpvs_WhenValidated_ThenItPassesWithTwoWarnings()
    {
        var site = TestPaths.TestData("Configuration", "warnings.yaml");

        var result = CliRunner.Run("validate", site);

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Contains("warning: " + site + ":5:14 network.proxyMode: ipvs is deprecated", result.Error);
        Assert.Contains("nodes: 2 etcd members", result.Error);
    }

    [Fact]
    public void GivenTheExampleSite_WhenValidated_ThenItIsClean()
    {
        var result = CliRunner.Run("validate", TestPaths.ExampleSite);

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Equal("", result.Error);
        Assert.Contains("ok: site 'example', Kubernetes 1.36.0, 5 nodes (3 master, 3 etcd, 2 worker)", result.Out);
    }

    [Fact]
    public void GivenTheExampleSite_WhenLoaded_ThenDefaultsAndDerivedAddressesAreAsTheSpecSays()
    {
        var site = SiteLoader.Load(TestPaths.ExampleSite, PinCatalog.Default()).Site;

        Assert.Equal("10.254.0.1", site.Network.KubernetesServiceIp.ToString());
        Assert.Equal("10.254.0.10", site.Network.ClusterDnsIp.ToString());
        Assert.Equal("172.30.0.0/24", site.PodSubnetOf(site.Nodes[0]).ToString());
        Assert.Equal("172.30.4.0/24", site.PodSubnetOf(site.Nodes[4]).ToString());
        Assert.Equal("k8s-01", site.FirstMaster.Name);
        Assert.Equal(KeyAlgorithm.Rsa2048, site.Pki.KeyAlgorithm);
        Assert.Equal(64, site.SourceSha256.Length);
    }

    [Fact]
    public void GivenAMinimalSite_WhenLoaded_ThenEveryOptionalFieldHasTheSpecDefault()
    {
        const string yaml = "name: lab\nkubernetes: 1.36.0\nnodes:\n  - {name: n1, ip: 192.168.1.5, roles: [etcd, master, worker]}\n";

        var site = SiteLoader.Parse(yaml, "site.yaml", PinCatalog.Default()).Site;

        Assert.Equal(Arch.Amd64, site.Arch);
        Assert.Equal("10.254.0.0/16", site.Network.ServiceCidr.ToString());
        Assert.Equal("172.30.0.0/16", site.Network.PodCidr.ToString());
        Assert.Equal("30000-32767", site.Network.NodePortRange);
        Assert.Equal("cluster.local", site.Network.ClusterDomain);
        Assert.Equal(ProxyMode.Iptables, site.Network.ProxyMode);
        Assert.Equal((6443, 8443), (site.ApiServer.Port, site.ApiServer.LocalProxyPort));
        Assert.Empty(site.ApiServer.ExtraSans);
        Assert.Equal(new PkiSettings(KeyAlgorithm.Rsa2048, 3650, 365, false), site.Pki);
    }

    [Fact]
    public void GivenALockFileGivenWithPins_WhenTheSiteNamesAnotherVersion_ThenTheErrorNamesTheLock()
    {
        using var dir = new TempDir();
        var pins = dir.File("other.yaml");
        File.WriteAllText(pins, "kubernetes: 1.35.0\nartifacts: []\n");
        var site = dir.File("site.yaml");
        File.WriteAllText(site, "name: lab\nkubernetes: 1.36.0\nnodes:\n  - {name: n1, ip: 192.168.1.5, roles: [etcd, master]}\n");

        var result = CliRunner.Run("validate", site, "--pins", pins);

        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        Assert.Contains($"{site}:2:13 kubernetes: 1.36.0 is not pinned in {pins}; allowed: 1.35.0", result.Error);
    }

    [Fact]
    public void GivenAMissingSiteFile_WhenValidated_ThenExit2NamesTheFile()
    {
        var result = CliRunner.Run("validate", "/nonexistent/site.yaml");

        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        Assert.Contains("/nonexistent/site.yaml: site file not found", result.Error);
    }

    [Fact]
    public void GivenJsonOutput_WhenASiteIsBad_ThenProblemsAreListedWithTheirPositions()
    {
        var result = CliRunner.Run("validate", TestPaths.TestData("Configuration", "bad", "09-bad-ip.yaml"), "--json");

        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        using var json = System.Text.Json.JsonDocument.Parse(result.Out);
        var problem = json.RootElement.GetProperty("problems")[0];
        Assert.Equal("nodes[0].ip", problem.GetProperty("field").GetString());
        Assert.Equal(6, problem.GetProperty("line").GetInt32());
    }

    [Fact]
    public void GivenALockThatLacksABinaryTheSiteNeeds_WhenValidated_ThenExit2NamesTheBinaryAndArch()
    {
        using var dir = new TempDir();
        var pins = dir.File("lock.yaml");
        File.WriteAllText(pins, """
            kubernetes: 1.36.0
            artifacts:
              - name: runc
                version: 1.4.3
                arch: amd64
                url: https://example.invalid/runc.amd64
                sha256: f6ae8efc0fa40079e1475e97cbe9d1bd3f106a28d6af78a11d9f1bd565515e60
                install: /opt/k8s/bin/runc
            """);

        var result = CliRunner.Run("validate", TestPaths.ExampleSite, "--pins", pins);

        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        Assert.Contains("/opt/k8s/bin/kube-apiserver", result.Error);
        Assert.Contains("amd64", result.Error);
    }
}
