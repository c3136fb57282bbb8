using System.Text.RegularExpressions;
using Bundler.Layout;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace Bundler.Tests.Render;

/// <summary>
/// Every flag of every rendered ExecStart and every field of every rendered config exists in the reference lists of
/// the pinned versions (TestData/Reference, copied from the shared reference) and none is on the removed list.
/// </summary>
[Collection(RenderCollection.Name)]
public sealed partial class ReferenceListTests(RenderFixture fixture)
{
    /// <summary>Unit binary → its flag list. containerd and kube-nginx take only a config path (-c/--config): no list exists.</summary>
    public static readonly Dictionary<string, string> FlagLists = new()
    {
        ["etcd"] = "etcd-3.6.flags",
        ["kube-apiserver"] = "kube-apiserver.flags",
        ["kube-controller-manager"] = "kube-controller-manager.flags",
        ["kube-scheduler"] = "kube-scheduler.flags",
        ["kubelet"] = "kubelet.flags",
        ["kube-proxy"] = "kube-proxy.flags",
    };

    /// <summary>Config file → its field list (by apiVersion/kind).</summary>
    public static readonly Dictionary<string, string> FieldLists = new()
    {
        [NodePaths.KubeletConfig] = "KubeletConfiguration.v1beta1.fields",
        [NodePaths.KubeProxyConfig] = "KubeProxyConfiguration.v1alpha1.fields",
        [NodePaths.SchedulerConfig] = "KubeSchedulerConfiguration.v1.fields",
        [NodePaths.EncryptionConfig] = "EncryptionConfiguration.v1.fields",
        [NodePaths.AuditPolicy] = "audit.k8s.io.v1.Policy.fields",
    };

    [Fact]
    public void GivenEveryRenderedUnit_WhenItsExecStartFlagsAreParsed_ThenEachIsInTheReferenceAndNoneDeprecatedOrRemoved()
    {
        var removed = Removed();
        var checkedFlags = 0;
        foreach (var (node, file) in fixture.Rendered().Where(r => r.File.Kind == FileKind.Unit && !r.File.Path.EndsWith(".timer", StringComparison.Ordinal)))
        {
            var (binary, flags) = ExecStart(RenderFixture.Text(file));
            var component = Path.GetFileName(binary);
            if (!FlagLists.TryGetValue(component, out var list))
                continue;
            var known = List(list);
            foreach (var flag in flags)
            {
                Assert.True(known.TryGetValue(flag, out var marks), $"{node} {file.Path}: --{flag} is not a {component} flag ({list})");
                Assert.False(marks.Contains("deprecated"), $"{node} {file.Path}: --{flag} is deprecated ({list})");
                Assert.False(removed.Contains($"{component} {flag}"), $"{node} {file.Path}: --{flag} is removed (pki-spec §7)");
                checkedFlags++;
            }
        }
        Assert.True(checkedFlags > 80, $"only {checkedFlags} flags checked");
    }

    [Fact]
    public void GivenEveryRenderedComponentConfig_WhenItsFieldPathsAreListed_ThenEachIsInTheReferenceAndItsApiVersionIsNotRemoved()
    {
        var removed = Removed();
        var checkedFields = 0;
        foreach (var (node, file) in fixture.Rendered().Where(r => FieldLists.ContainsKey(r.File.Path)))
        {
            var list = FieldLists[file.Path];
            var known = List(list);
            var stream = new YamlStream();
            stream.Load(new StringReader(RenderFixture.Text(file)));
            var root = (YamlMappingNode)stream.Documents[0].RootNode;
            var apiVersion = ((YamlScalarNode)root[new YamlScalarNode("apiVersion")]).Value;
            Assert.False(removed.Contains($"config {apiVersion}"), $"{file.Path}: apiVersion {apiVersion} is removed");
            foreach (var path in FieldPaths(root, ""))
            {
                Assert.True(known.TryGetValue(path, out var marks) || known.ContainsKey(MapPath(path)),
                    $"{node} {file.Path}: field {path} is not in {list}");
                Assert.False(marks?.Contains("deprecated") == true, $"{node} {file.Path}: field {path} is deprecated ({list})");
                checkedFields++;
            }
        }
        Assert.True(checkedFields > 40, $"only {checkedFields} fields checked");
    }

    [Fact]
    public void GivenTheRenderedContainerdConfig_WhenItsKeysAreListed_ThenEachIsAVersion3KeyAvailableInThePinned2x()
    {
        var known = List("containerd-2.x-config-v3.keys");
        var file = fixture.Tree("k8s-04").Files.Single(f => f.Path == NodePaths.ContainerdConfig);
        var keys = TomlKeys(RenderFixture.Text(file)).ToList();
        Assert.Contains("plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.runc.options.SystemdCgroup", keys);
        Assert.Contains("plugins.\"io.containerd.cri.v1.images\".pinned_images.sandbox", keys);
        foreach (var key in keys)
        {
            // A table header ([plugins."io.containerd.cri.v1.images"]) is a plugin ID: valid when keys below it are listed.
            var match = known.Keys.FirstOrDefault(k => Glob(k).IsMatch(key))
                        ?? known.Keys.FirstOrDefault(k => k.Select((c, i) => (c, i)).Any(p => p.c == '.' && Glob(k[..p.i]).IsMatch(key)));
            Assert.True(match is not null, $"{file.Path}: {key} is not a containerd 2.x config v3 key");
            Assert.DoesNotContain("deprecated", known[match]);
            // The pins use containerd 2.3.4: every since= in the list is at or below it.
            Assert.All(known[match].Where(m => m.StartsWith("since=", StringComparison.Ordinal)),
                m => Assert.True(Version.Parse(m[7..]) <= new Version(2, 3, 4), $"{key} needs {m}"));
        }
    }

    [Fact]
    public void GivenEveryRenderedNginxConf_WhenItsStreamDirectivesAreListed_ThenEachIsAllowedInItsContext()
    {
        var allowed = File.ReadAllLines(Path.Combine(RenderFixture.ReferenceDir, "nginx-1.30-stream.directives"))
            .Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split('\t'))
            .SelectMany(p => p[2].Split(',').Select(c => (p[0], c))).ToHashSet();
        foreach (var (node, text) in Bundler.Render.RenderStep.NginxConfigs(fixture.Result))
        {
            var stream = text[text.IndexOf("stream {", StringComparison.Ordinal)..];
            var context = new Stack<string>();
            context.Push("main");
            foreach (var raw in stream.Split('\n').Skip(1))
            {
                var line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#'))
                    continue;
                if (line == "}")
                {
                    context.Pop();
                    continue;
                }
                var name = line.Split(' ', ';')[0];
                if (line.EndsWith('{'))
                {
                    context.Push(name == "upstream" ? "ups" : "srv");
                    continue;
                }
                Assert.True(allowed.Contains((name, context.Peek())), $"{node}: '{name}' is not a stream directive allowed in {context.Peek()}");
            }
        }
    }

    /// <summary>The binary and long flag names of a unit's ExecStart (continuation lines joined).</summary>
    internal static (string Binary, List<string> Flags) ExecStart(string unit)
    {
        var joined = unit.Replace("\\\n", " ", StringComparison.Ordinal);
        var line = joined.Split('\n').Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal));
        var tokens = line["ExecStart=".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var flags = tokens.Skip(1).Where(t => t.StartsWith("--", StringComparison.Ordinal)).Select(t => t[2..].Split('=')[0]).ToList();
        return (tokens[0], flags);
    }

    internal static IEnumerable<string> FieldPaths(YamlNode node, string prefix)
    {
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (key, value) in map.Children)
                {
                    var path = prefix.Length == 0 ? ((YamlScalarNode)key).Value! : $"{prefix}.{((YamlScalarNode)key).Value}";
                    yield return path;
                    foreach (var child in FieldPaths(value, path))
                        yield return child;
                }
                break;
            case YamlSequenceNode list:
                foreach (var item in list)
                    foreach (var child in FieldPaths(item, prefix + "[]"))
                        yield return child;
                break;
        }
    }

    /// <summary>Keys of our TOML (tables and key = value lines; the rendered file uses nothing else).</summary>
    internal static IEnumerable<string> TomlKeys(string toml)
    {
        var table = "";
        foreach (var raw in toml.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
                continue;
            if (line.StartsWith('['))
            {
                table = line.Trim('[', ']');
                yield return table;
                continue;
            }
            var key = line.Split('=')[0].Trim();
            yield return table.Length == 0 ? key : $"{table}.{key}";
        }
    }

    private static string MapPath(string path) => MapKey().Replace(path, ".{}");

    private static Regex Glob(string key) =>
        new("^" + Regex.Escape(key).Replace(@"\*", "[^.]+", StringComparison.Ordinal) + "$");

    internal static Dictionary<string, string[]> List(string file) =>
        File.ReadAllLines(Path.Combine(RenderFixture.ReferenceDir, file))
            .Where(l => l.Trim().Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            .GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.First()[1..]);

    private static HashSet<string> Removed() =>
        File.ReadAllLines(Path.Combine(RenderFixture.ReferenceDir, "removed.flags"))
            .Where(l => l.Length > 0 && !l.StartsWith('#')).ToHashSet();

    [GeneratedRegex(@"\.[^.\[\]]+$")]
    private static partial Regex MapKey();
}
