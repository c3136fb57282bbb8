using Bundler.Render;
using Bundler.Render.Escaping;

namespace Bundler.Tests.Render;

/// <summary>The Scriban wrapper on its own: strictness, error positions, the escape hatch, what reaches the escaper.</summary>
public sealed class TemplateSetTests : IDisposable
{
    private readonly TempDir _dir = new("kbundle-templates");

    private static readonly Dictionary<string, object?> Model = new()
    {
        ["node"] = new Dictionary<string, object?> { ["name"] = "k8s-01", ["isMaster"] = true },
        ["site"] = new Dictionary<string, object?> { ["apiServerPort"] = 6443 },
        ["modules"] = new List<string> { "ip_vs", "nf_conntrack" },
        ["masters"] = new List<Dictionary<string, object?>> { new() { ["ip"] = "192.168.93.11" } },
    };

    public void Dispose() => _dir.Dispose();

    private string Render(string text, FileFormat format = FileFormat.Systemd, IReadOnlyDictionary<string, object?>? model = null)
    {
        File.WriteAllText(_dir.File("t.sbn"), text);
        return TemplateSet.Open(_dir.Path).Render("t.sbn", format, model ?? Model);
    }

    private string Location(int line, int column) => $"{_dir.File("t.sbn")}:{line}:{column}: ";

    [Theory]
    [InlineData("# unit\nExecStart=/bin/x --name={{ nodee.name }}\n", 2, 28, "nodee")]
    [InlineData("# unit\nExecStart=/bin/x --name={{ node.nmae }}\n", 2, 33, "nmae")]
    [InlineData("{{ masters[1].ip }}\n", 1, 12, "out of bounds")]
    [InlineData("{{ node.name.first }}\n", 1, 14, "first")]
    [InlineData("a\n{{ for m in }}\n", 2, 13, "for")]
    [InlineData("{{ include 'other.sbn' }}\n", 1, 4, "include")]
    public void GivenAnUnknownNameOrASyntaxError_WhenRendered_ThenTheErrorStartsWithTemplateLineAndColumn(string text, int line, int column, string said)
    {
        var e = Assert.Throws<UserInputException>(() => Render(text));

        Assert.StartsWith(Location(line, column), e.Message, StringComparison.Ordinal);
        Assert.Contains(said, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenLoopsAndConditionsOnTheirOwnLines_WhenRendered_ThenThoseLinesLeaveNoTrace()
    {
        var text = Render(
            "overlay\n{{~ for module in modules ~}}\n{{ module }}\n{{~ end ~}}\n{{~ if node.isMaster ~}}\nmaster\n{{~ end ~}}\nend\n",
            FileFormat.Lines);

        Assert.Equal("overlay\nip_vs\nnf_conntrack\nmaster\nend\n", text);
    }

    [Fact]
    public void GivenAValueWithALineBreak_WhenRendered_ThenTheErrorNamesTheExpressionAndItsPlaceButNotTheValue()
    {
        var model = new Dictionary<string, object?>(Model) { ["node"] = new Dictionary<string, object?> { ["name"] = "secret-part\nExecStartPre=/bin/sh" } };

        var e = Assert.Throws<UserInputException>(() => Render("[Service]\nExecStart=/bin/x --name={{ node.name }}\n", model: model));

        Assert.StartsWith(Location(2, 28) + "node.name holds U+000A (line feed)", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-part", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenAListPlacedAsAValue_WhenRendered_ThenItIsRefusedInsteadOfPrintedAsScribanFormatsIt()
    {
        var e = Assert.Throws<UserInputException>(() => Render("{{ modules }}\n", FileFormat.Lines));

        Assert.StartsWith(Location(1, 4) + "modules is a List", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenVerbatim_WhenRendered_ThenTheValueIsPlacedUnchangedAndEverythingElseStillEscaped()
    {
        var model = new Dictionary<string, object?>(Model) { ["node"] = new Dictionary<string, object?> { ["name"] = "a b%n" } };

        var text = Render("[Service]\nExecStart=/bin/x {{ verbatim node.name }} {{ node.name }}\n", model: model);

        Assert.Equal("[Service]\nExecStart=/bin/x a b%n a\\sb%%n\n", text);
    }

    [Fact]
    public void GivenACapturedString_WhenPlaced_ThenItIsEscapedAsOneValueWhereItLands()
    {
        var text = Render("{{ capture flag }}--name={{ node.name }} x{{ end }}[Service]\nExecStart=/bin/x {{ flag }}\n");

        Assert.Equal("[Service]\nExecStart=/bin/x --name=k8s-01\\sx\n", text);
    }

    [Fact]
    public void GivenIntegersAndBooleans_WhenPlaced_ThenTheyAreInvariantLiterals()
    {
        Assert.Equal("listen 127.0.0.1:6443;\n# True is true\n", Render("listen 127.0.0.1:{{ site.apiServerPort }};\n# True is {{ node.isMaster }}\n", FileFormat.Nginx));
    }

    [Fact]
    public void GivenATemplateHoldingTheReservedPlaceholderCharacter_WhenRendered_ThenItIsRefused()
    {
        var e = Assert.Throws<UserInputException>(() => Render("a\uE000b\n"));

        Assert.Contains("U+E000", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenTheShippedTemplates_WhenSearched_ThenNoneUsesTheEscapeHatch()
    {
        var templates = Directory.EnumerateFiles(RenderFixture.ShippedTemplates, "*" + TemplateSet.Extension, SearchOption.AllDirectories).ToList();

        Assert.True(templates.Count >= 20, $"only {templates.Count} templates found");
        Assert.All(templates, t => Assert.DoesNotContain("verbatim", File.ReadAllText(t), StringComparison.Ordinal));
    }

    [Fact]
    public void GivenEveryRowOfTheCatalog_WhenItsFormatIsDerived_ThenEachFileHasItsEscaper()
    {
        var formats = TemplateCatalog.All.ToDictionary(r => r.NodePath, FileFormats.Of);

        Assert.All(formats.Where(f => f.Key.EndsWith(".service", StringComparison.Ordinal)), f => Assert.Equal(FileFormat.Systemd, f.Value));
        Assert.All(formats.Where(f => f.Key.EndsWith(".yaml", StringComparison.Ordinal) || f.Key.StartsWith("/etc/kubernetes/", StringComparison.Ordinal) && f.Key.EndsWith(".conf", StringComparison.Ordinal) && !f.Key.EndsWith("pod-routes.conf", StringComparison.Ordinal)),
            f => Assert.Equal(FileFormat.Yaml, f.Value));
        Assert.Equal(FileFormat.Toml, formats["/etc/containerd/config.toml"]);
        Assert.Equal(FileFormat.Json, formats["/etc/cni/net.d/10-kbundle.conflist"]);
        Assert.Equal(FileFormat.Json, formats["/etc/cni/net.d/99-loopback.conf"]);
        Assert.Equal(FileFormat.Nginx, formats["/etc/kube-nginx/nginx.conf"]);
        Assert.Equal(FileFormat.Lines, formats["/etc/sysctl.d/99-kubernetes.conf"]);
        Assert.Equal(FileFormat.Lines, formats["/etc/modules-load.d/kubernetes.conf"]);
        Assert.Equal(FileFormat.Lines, formats["/etc/kubernetes/pod-routes.conf"]);
    }
}
