using Bundler.Render.Escaping;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using static Bundler.Tests.Render.Escaping.EscaperHarness;

namespace Bundler.Tests.Render.Escaping;

/// <summary>The oracle is YamlDotNet: what a real YAML parser reads back from the escaped file.</summary>
public sealed class YamlEscaperTests
{
    private static readonly YamlEscaper Escaper = new();

    /// <summary>Words a YAML 1.1 reader (go-yaml, which Kubernetes uses) resolves to null, a boolean, a number or a date.</summary>
    private static readonly HashSet<string> Typed = ["", "yes", "on", "0755", "12:30", "~", "null", "1e3", "2001-12-14", "=", "<<"];

    public static TheoryData<string> AllData => Data(Hostile.Printable.Concat(Hostile.Controls));

    public static TheoryData<string> PrintableData => Hostile.PrintableData;

    public static TheoryData<string> ControlData => Hostile.ControlData;

    [Theory]
    [MemberData(nameof(AllData))]
    public void GivenAHostileValueAsAWholeMappingValue_WhenParsed_ThenItIsThatStringUnderThatOneKey(string value)
    {
        var yaml = Place(Escaper, "key: ⟨⟩\nother: 1\n", value);

        var root = Mapping(yaml);

        Assert.Equal(["key", "other"], Keys(root));
        var scalar = Assert.IsType<YamlScalarNode>(root.Children[new YamlScalarNode("key")]);
        Assert.Equal(value, scalar.Value);
        if (Typed.Contains(value) || value.Trim() != value)
            Assert.NotEqual(ScalarStyle.Plain, scalar.Style);
    }

    [Theory]
    [MemberData(nameof(AllData))]
    public void GivenAHostileValueAsASequenceItem_WhenParsed_ThenItIsOneItem(string value)
    {
        var yaml = Place(Escaper, "clusterDNS:\n  - ⟨⟩\n  - last\n", value);

        var items = Assert.IsType<YamlSequenceNode>(Mapping(yaml).Children[new YamlScalarNode("clusterDNS")]);

        Assert.Equal([value, "last"], items.Children.Select(i => ((YamlScalarNode)i).Value));
    }

    [Theory]
    [MemberData(nameof(AllData))]
    public void GivenAHostileValueInsideADoubleQuotedScalar_WhenParsed_ThenItIsPartOfThatString(string value)
    {
        var yaml = Place(Escaper, "key: \"pre-⟨⟩-post\"\nother: 1\n", value);

        var root = Mapping(yaml);

        Assert.Equal(["key", "other"], Keys(root));
        Assert.Equal("pre-" + value + "-post", ((YamlScalarNode)root.Children[new YamlScalarNode("key")]).Value);
    }

    [Theory]
    [MemberData(nameof(PrintableData))]
    public void GivenAHostileValueInsideASingleQuotedScalar_WhenParsed_ThenItIsPartOfThatString(string value)
    {
        var yaml = Place(Escaper, "users:\n  - 'system:⟨⟩'\n", value);

        var items = Assert.IsType<YamlSequenceNode>(Mapping(yaml).Children[new YamlScalarNode("users")]);

        Assert.Equal("system:" + value, ((YamlScalarNode)Assert.Single(items.Children)).Value);
    }

    [Theory]
    [MemberData(nameof(PrintableData))]
    public void GivenAHostileValueInACommentOrABlockScalar_WhenParsed_ThenItAddsNoKey(string value)
    {
        var commented = Mapping(Place(Escaper, "# kube-proxy for ⟨⟩ (rendered by kbundle)\na: 1\n", value));
        var block = Mapping(Place(Escaper, "script: |\n  echo ⟨⟩\nnext: 1\n", value));

        Assert.Equal(["a"], Keys(commented));
        Assert.Equal(["script", "next"], Keys(block));
        Assert.Equal("echo " + value + "\n", ((YamlScalarNode)block.Children[new YamlScalarNode("script")]).Value);
    }

    [Theory]
    [MemberData(nameof(ControlData))]
    public void GivenALineBreakWhereYamlHasNoEscape_WhenPlaced_ThenItIsRefused(string value)
    {
        foreach (var template in new[] { "# comment ⟨⟩\n", "k: 'a⟨⟩'\n", "k: |\n  ⟨⟩\n", "k: ⟨⟩/x\n", "k: a@⟨⟩\n" })
            Assert.Contains("cannot carry", Refused(Escaper, template, value).Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(PrintableData))]
    public void GivenAHostileValueInsideALargerPlainScalar_WhenPlaced_ThenItIsRefusedOrReadsBackAsPartOfThatScalar(string value)
    {
        foreach (var (template, key, expected) in new[]
                 {
                     ("kubeconfig: ⟨⟩/kube-proxy.conf\nx: 1\n", "kubeconfig", value + "/kube-proxy.conf"),
                     ("name: system:node:⟨⟩\nx: 1\n", "name", "system:node:" + value),
                     ("name: ⟨⟩@example\nx: 1\n", "name", value + "@example"),
                 })
        {
            string yaml;
            try
            {
                yaml = Place(Escaper, template, value);
            }
            catch (ValueRefusedException e)
            {
                Assert.Contains("quote the whole scalar", e.Message, StringComparison.Ordinal);
                continue;
            }
            var root = Mapping(yaml);
            Assert.Equal([key, "x"], Keys(root));
            Assert.Equal(expected, ((YamlScalarNode)root.Children[new YamlScalarNode(key)]).Value);
        }
    }

    [Theory]
    [InlineData("a b")]
    [InlineData("#c")]
    [InlineData("key: v")]
    [InlineData("'")]
    [InlineData("\"")]
    [InlineData("-x")]
    [InlineData("[x]")]
    public void GivenASpaceCommentColonQuoteOrIndicatorInsideALargerPlainScalar_WhenPlaced_ThenItIsRefused(string value)
    {
        Refused(Escaper, "kubeconfig: ⟨⟩/kube-proxy.conf\n", value);
    }

    [Fact]
    public void GivenTheExampleValues_WhenPlacedAsWholeScalars_ThenTheyStayPlain()
    {
        foreach (var value in new[] { "10.254.0.10", "172.30.0.0/16", "https://127.0.0.1:6443", "system:kube-scheduler", "k8s-01", "cluster.local", "ipvs", "LS0tLS1CRUdJTi==" })
            Assert.Equal("key: " + value + "\n", Place(Escaper, "key: ⟨⟩\n", value));
    }

    [Fact]
    public void GivenAnIntegerOrBoolean_WhenPlacedAsAWholeScalar_ThenItIsThatLiteral()
    {
        Assert.Equal("port: 6443\n", Place(Escaper, "port: ⟨⟩\n", 6443));
        Assert.Equal("enabled: true\n", Place(Escaper, "enabled: ⟨⟩\n", true));
        Assert.Equal("name: \"true\"\n", Place(Escaper, "name: ⟨⟩\n", "true"));
    }

    private static YamlMappingNode Mapping(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return Assert.IsType<YamlMappingNode>(Assert.Single(stream.Documents).RootNode);
    }

    private static List<string?> Keys(YamlMappingNode node) => node.Children.Keys.Select(k => ((YamlScalarNode)k).Value).ToList();
}
