using Bundler.Render.Escaping;
using static Bundler.Tests.Render.Escaping.EscaperHarness;

namespace Bundler.Tests.Render.Escaping;

public sealed class NginxEscaperTests
{
    private static readonly NginxEscaper Escaper = new();

    public static TheoryData<string> PrintableData => Hostile.PrintableData;

    public static TheoryData<string> ControlData => Hostile.ControlData;

    [Theory]
    [MemberData(nameof(PrintableData))]
    public void GivenAHostileValueAsAWholeToken_WhenNginxReadsIt_ThenItIsThatOneArgumentOrRefusedForDollar(string value)
    {
        string conf;
        try
        {
            conf = Place(Escaper, "stream {\n    upstream a {\n        server ⟨⟩ max_fails=3;\n    }\n}\n", value);
        }
        catch (ValueRefusedException e)
        {
            Assert.Contains('$', value);
            Assert.Contains("cannot escape", e.Message, StringComparison.Ordinal);
            return;
        }

        var directives = NginxReader.Read(conf);

        Assert.Equal(["stream", "upstream", "server", "", ""], directives.Select(d => d.Arguments.Count > 0 ? d.Arguments[0] : ""));
        Assert.Equal(["server", value, "max_fails=3"], directives[2].Arguments);
    }

    [Theory]
    [MemberData(nameof(PrintableData))]
    public void GivenAHostileValueInsideAQuotedString_WhenNginxReadsIt_ThenItIsPartOfThatArgument(string value)
    {
        if (value.Contains('$', StringComparison.Ordinal))
            return;
        var conf = Place(Escaper, "error_log \"/var/log/⟨⟩.log\" notice;\npid 'x⟨⟩';\n", value);
        conf = Place(Escaper, conf, value);

        var directives = NginxReader.Read(conf);

        Assert.Equal([["error_log", "/var/log/" + value + ".log", "notice"], ["pid", "x" + value]], directives.Select(d => d.Arguments));
    }

    [Theory]
    [MemberData(nameof(PrintableData))]
    public void GivenAHostileValueInsideALargerToken_WhenPlaced_ThenItIsRefusedOrThatPartOfTheToken(string value)
    {
        string conf;
        try
        {
            conf = Place(Escaper, "listen 127.0.0.1:⟨⟩;\n", value);
        }
        catch (ValueRefusedException)
        {
            Assert.True(value.Length == 0 || value.Any(c => " ;{}#\"'\\$".Contains(c, StringComparison.Ordinal)), value);
            return;
        }
        Assert.Equal(["listen", "127.0.0.1:" + value], Assert.Single(NginxReader.Read(conf)).Arguments);
    }

    [Theory]
    [MemberData(nameof(PrintableData))]
    public void GivenAHostileValueInAComment_WhenNginxReadsIt_ThenItAddsNoDirective(string value)
    {
        var conf = Place(Escaper, "# kube-nginx on ⟨⟩: TCP passthrough\nworker_processes 1;\n", value);

        Assert.Equal(["worker_processes", "1"], Assert.Single(NginxReader.Read(conf)).Arguments);
    }

    [Theory]
    [MemberData(nameof(ControlData))]
    public void GivenALineBreakAnywhere_WhenPlaced_ThenItIsRefused(string value)
    {
        foreach (var template in new[] { "# ⟨⟩\n", "pid \"⟨⟩\";\n", "server ⟨⟩;\n" })
            Assert.Contains("cannot carry", Refused(Escaper, template, value).Message, StringComparison.Ordinal);
    }
}
