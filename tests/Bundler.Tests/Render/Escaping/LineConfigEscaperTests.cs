using Bundler.Render.Escaping;
using static Bundler.Tests.Render.Escaping.EscaperHarness;

namespace Bundler.Tests.Render.Escaping;

public sealed class LineConfigEscaperTests
{
    private static readonly LineConfigEscaper Escaper = new();

    public static TheoryData<string> PrintableData => Hostile.PrintableData;

    public static TheoryData<string> ControlData => Hostile.ControlData;

    [Theory]
    [MemberData(nameof(PrintableData))]
    public void GivenAHostileValueOnARouteLine_WhenPlaced_ThenItIsRefusedOrStaysOneWordOfThatLine(string value)
    {
        string text;
        try
        {
            text = Place(Escaper, "⟨⟩ via 192.168.93.14\n", value);
        }
        catch (ValueRefusedException e)
        {
            Assert.Contains("one word", e.Message, StringComparison.Ordinal);
            return;
        }
        var line = Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal([value, "via", "192.168.93.14"], line.Split(' '));
        Assert.False(value[0] is '#' or ';');
    }

    [Theory]
    [InlineData("a b")]
    [InlineData("#c")]
    [InlineData(";c")]
    [InlineData("")]
    public void GivenASpaceCommentOrEmptyValue_WhenPlacedOnAConfigLine_ThenItIsRefused(string value)
    {
        Refused(Escaper, "⟨⟩ via 192.168.93.14\n", value);
        Refused(Escaper, "overlay\n⟨⟩\n", value);
    }

    [Theory]
    [MemberData(nameof(PrintableData))]
    public void GivenAHostileValueInAComment_WhenPlaced_ThenItIsCarriedAndAddsNoLine(string value)
    {
        var text = Place(Escaper, "# Kernel modules for Kubernetes on ⟨⟩\noverlay\n", value);

        Assert.Equal(["overlay"], text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')));
    }

    [Theory]
    [MemberData(nameof(ControlData))]
    public void GivenALineBreakAnywhere_WhenPlaced_ThenItIsRefused(string value)
    {
        Refused(Escaper, "# ⟨⟩\n", value);
        Refused(Escaper, "⟨⟩ via 1.2.3.4\n", value);
    }
}
