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
    public void There_are_at_least_thirty_bad_site_files_with_one_problem_each()
    {
        Assert.True(BadSites().Count >= 30, $"only {BadSites().Count} bad site files");
    }

    [Theory]
    [MemberData(nameof(BadSites))]
    public void Given_a_bad_site_file_when_validated_then_the_problem_is_reported_at_its_place_with_exit_2_and_nothing_is_written(string name)
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
    public void Given_a_lock_whose_version_carries_a_unit_line_when_validated_then_exit_2_names_the_lock_line_and_nothing_is_written()
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
    public void Given_a_file_with_many_problems_when_validated_then_every_problem_is_reported_in_one_run_in_file_order()
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
    public void Given_an_even_etcd_count_and_ipvs_when_validated_then_it_passes_with_two_warnings()
    {
        var site = TestPaths.TestData("Configuration", "warnings.yaml");

        var result = CliRunner.Run("validate", site);

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Contains("warning: " + site + ":5:14 network.proxyMode: ipvs is deprecated", result.Error);
        Assert.Contains("nodes: 2 etcd members", result.Error);
    }

    [Fact]
    public void Given_the_example_site_when_validated_then_it_is_clean()
    {
        var result = CliRunner.Run("validate", TestPaths.ExampleSite);

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Equal("", result.Error);
        Assert.Contains("ok: site 'example', Kubernetes 1.36.0, 5 nodes (3 master, 3 etcd, 2 worker)", result.Out);
    }

    [Fact]
    public void Given_the_example_site_when_loaded_then_defaults_and_derived_addresses_are_as_the_spec_says()
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
    public void Given_a_minimal_site_when_loaded_then_every_optional_field_has_the_spec_default()
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
    public void Given_a_lock_file_given_with_pins_when_the_site_names_another_version_then_the_error_names_the_lock()
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
    public void Given_a_missing_site_file_when_validated_then_exit_2_names_the_file()
    {
        var result = CliRunner.Run("validate", "/nonexistent/site.yaml");

        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        Assert.Contains("/nonexistent/site.yaml: site file not found", result.Error);
    }

    [Fact]
    public void Given_json_output_when_a_site_is_bad_then_problems_are_listed_with_their_positions()
    {
        var result = CliRunner.Run("validate", TestPaths.TestData("Configuration", "bad", "09-bad-ip.yaml"), "--json");

        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        using var json = System.Text.Json.JsonDocument.Parse(result.Out);
        var problem = json.RootElement.GetProperty("problems")[0];
        Assert.Equal("nodes[0].ip", problem.GetProperty("field").GetString());
        Assert.Equal(6, problem.GetProperty("line").GetInt32());
    }

    [Fact]
    public void Given_a_lock_that_lacks_a_binary_the_site_needs_when_validated_then_exit_2_names_the_binary_and_arch()
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
