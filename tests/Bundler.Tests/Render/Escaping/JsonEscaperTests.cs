using System.Text.Json;
using Bundler.Render.Escaping;
using static Bundler.Tests.Render.Escaping.EscaperHarness;

namespace Bundler.Tests.Render.Escaping;

/// <summary>The oracle is System.Text.Json: what a strict JSON parser reads back from the escaped file.</summary>
public sealed class JsonEscaperTests
{
    private static readonly JsonEscaper Escaper = new();

    public static TheoryData<string> AllData => Data(Hostile.Printable.Concat(Hostile.Controls));

    public static TheoryData<string> PrintableData => Hostile.PrintableData;

    [Theory]
    [MemberData(nameof(AllData))]
    public void GivenAHostileValueInAString_WhenParsed_ThenItIsThatStringUnderThatOneKey(string value)
    {
        var json = Place(Escaper, "{\n  \"ranges\": [[{ \"subnet\": \"⟨⟩\" }]],\n  \"name\": \"kbundle\"\n}\n", value);

        using var document = JsonDocument.Parse(json);

        Assert.Equal(["ranges", "name"], document.RootElement.EnumerateObject().Select(p => p.Name));
        var range = Assert.Single(Assert.Single(document.RootElement.GetProperty("ranges").EnumerateArray().ToList()).EnumerateArray().ToList());
        Assert.Equal(["subnet"], range.EnumerateObject().Select(p => p.Name));
        Assert.Equal(value, range.GetProperty("subnet").GetString());
    }

    [Theory]
    [MemberData(nameof(PrintableData))]
    public void GivenAStringOutsideQuotes_WhenPlaced_ThenItIsRefused(string value)
    {
        Assert.Contains("outside quotes", Refused(Escaper, "{ \"mtu\": ⟨⟩ }\n", value).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenAnIntegerOrBooleanOutsideQuotes_WhenPlaced_ThenItIsThatLiteral()
    {
        using var document = JsonDocument.Parse(Place(Escaper, Place(Escaper, "{ \"mtu\": ⟨⟩, \"ipMasq\": ⟨⟩ }\n", 1450), true));

        Assert.Equal(1450, document.RootElement.GetProperty("mtu").GetInt32());
        Assert.True(document.RootElement.GetProperty("ipMasq").GetBoolean());
    }
}
