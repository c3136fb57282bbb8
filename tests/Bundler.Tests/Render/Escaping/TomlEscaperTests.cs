using Bundler.Render.Escaping;
using Tomlyn;
using Tomlyn.Model;
using static Bundler.Tests.Render.Escaping.EscaperHarness;

namespace Bundler.Tests.Render.Escaping;

/// <summary>The oracle is Tomlyn: what a real TOML parser reads back from the escaped file.</summary>
public sealed class TomlEscaperTests
{
    private static readonly TomlEscaper Escaper = new();

    public static TheoryData<string> AllData => Data(Hostile.Printable.Concat(Hostile.Controls));

    public static TheoryData<string> PrintableData => Hostile.PrintableData;

    public static TheoryData<string> ControlData => Hostile.ControlData;

    [Theory]
    [MemberData(nameof(AllData))]
    public void GivenAHostileValueInABasicString_WhenParsed_ThenItIsThatStringUnderThatOneKey(string value)
    {
        var toml = Place(Escaper, "[grpc]\n  address = \"⟨⟩\"\n  other = 1\n", value);

        var grpc = Assert.IsType<TomlTable>(Parse(toml)["grpc"]);

        Assert.Equal(["address", "other"], grpc.Keys);
        Assert.Equal(value, grpc["address"]);
        Assert.Equal(["grpc"], Parse(toml).Keys);
    }

    [Theory]
    [MemberData(nameof(AllData))]
    public void GivenAHostileValueInAnArrayOfStringsAndATableName_WhenParsed_ThenTheArrayHasOneItemAndTheTableOneName(string value)
    {
        var toml = Place(Escaper, "[plugins.\"io.containerd.⟨⟩\"]\n  bin_dirs = [\"/opt/cni/bin\"]\n", value);
        toml = Place(Escaper, toml.Replace("/opt/cni/bin", Slot, StringComparison.Ordinal), value);

        var plugins = Assert.IsType<TomlTable>(Parse(toml)["plugins"]);

        var table = Assert.IsType<TomlTable>(Assert.Single(plugins).Value);
        Assert.Equal("io.containerd." + value, Assert.Single(plugins).Key);
        Assert.Equal([value], Assert.IsType<TomlArray>(Assert.Single(table).Value));
    }

    [Theory]
    [MemberData(nameof(AllData))]
    public void GivenAHostileValueInAMultiLineBasicString_WhenParsed_ThenItIsThatString(string value)
    {
        var toml = Place(Escaper, "text = \"\"\"pre ⟨⟩ post\"\"\"\nother = 1\n", value);

        var root = Parse(toml);

        Assert.Equal(["text", "other"], root.Keys);
        Assert.Equal("pre " + value + " post", root["text"]);
    }

    [Theory]
    [MemberData(nameof(PrintableData))]
    public void GivenAHostileValueInACommentOrALiteralString_WhenParsed_ThenItAddsNoKeyOrIsRefused(string value)
    {
        Assert.Equal(["version"], Parse(Place(Escaper, "# containerd ⟨⟩ configuration\nversion = 3\n", value)).Keys);
        string toml;
        try
        {
            toml = Place(Escaper, "path = '⟨⟩'\nother = 1\n", value);
        }
        catch (ValueRefusedException e)
        {
            Assert.Contains('\'', value);
            Assert.Contains("literal string", e.Message, StringComparison.Ordinal);
            return;
        }
        Assert.Equal(value, Parse(toml)["path"]);
        Assert.Equal(["path", "other"], Parse(toml).Keys);
    }

    [Theory]
    [MemberData(nameof(ControlData))]
    public void GivenALineBreakInACommentOrALiteralString_WhenPlaced_ThenItIsRefused(string value)
    {
        Refused(Escaper, "# containerd ⟨⟩\n", value);
        Refused(Escaper, "path = '⟨⟩'\n", value);
    }

    [Theory]
    [MemberData(nameof(PrintableData))]
    public void GivenAStringOutsideQuotes_WhenPlacedAsAValue_ThenItIsRefused(string value)
    {
        Assert.Contains("outside quotes", Refused(Escaper, "sandbox = ⟨⟩\n", value).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenAnIntegerOrBooleanOutsideQuotes_WhenPlaced_ThenItIsThatLiteral()
    {
        var root = Parse(Place(Escaper, "version = ⟨⟩\n", 3));
        Assert.Equal(3L, root["version"]);
        Assert.Equal(true, Parse(Place(Escaper, "SystemdCgroup = ⟨⟩\n", true))["SystemdCgroup"]);
    }

    [Theory]
    [InlineData("a b")]
    [InlineData("a.b")]
    [InlineData("a=b")]
    [InlineData("\"x\"")]
    [InlineData("")]
    public void GivenAValueInABareKey_WhenItIsNotABareKey_ThenItIsRefused(string value)
    {
        Refused(Escaper, "[plugins.⟨⟩]\n", value);
        Refused(Escaper, "⟨⟩ = 1\n", value);
        Assert.Equal(1L, Parse(Place(Escaper, "⟨⟩ = 1\n", "bin_dir-2"))["bin_dir-2"]);
    }

    private static TomlTable Parse(string toml) => TomlSerializer.Deserialize<TomlTable>(toml)!;
}
