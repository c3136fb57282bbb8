using Bundler.Render.Escaping;

namespace Bundler.Tests.Render.Escaping;

/// <summary>Places a value into a one-file template the way a render does: "⟨⟩" marks where the value stands.</summary>
internal static class EscaperHarness
{
    public const string Slot = "⟨⟩";

    public static string Place(ValueEscaper escaper, string template, object? value)
    {
        var at = template.IndexOf(Slot, StringComparison.Ordinal);
        Assert.True(at >= 0, $"no {Slot} in the test template");
        var before = template[..at];
        var rest = template[(at + Slot.Length)..];
        var lineEnd = rest.IndexOf('\n', StringComparison.Ordinal);
        return before + escaper.Escape(value, before, lineEnd < 0 ? rest : rest[..lineEnd]) + rest;
    }

    public static ValueRefusedException Refused(ValueEscaper escaper, string template, object? value) =>
        Assert.Throws<ValueRefusedException>(() => Place(escaper, template, value));

    public static TheoryData<string> Data(IEnumerable<string> values)
    {
        var data = new TheoryData<string>();
        foreach (var value in values)
            data.Add(value);
        return data;
    }
}

/// <summary>Values that break out of their place when written as they are.</summary>
internal static class Hostile
{
    /// <summary>No control characters: every format can carry these somewhere, quoted or escaped.</summary>
    public static readonly string[] Printable =
    [
        "", "a b", "100%", "%n", "%%", "$HOME", "${HOME}", "$$", "a;b", ";", "\\;", "{", "}", "{}", "'", "\"", "\\", "a\\",
        "#c", "a #b", ";c", " lead", "trail ", "yes", "on", "0755", "12:30", "~", "null", "1e3", "2001-12-14", "key: v",
        "- x", "-x", "[x]", "&a", "*a", "!tag", "|", ">", "@x", "`id`", "$(id)", "+/bin/sh", "=", "<<", "x:", ":x", "é",
        "\"; rm -rf / #", "'; id; '", "a\\nb", "--v=9 --x", "a\"b'c",
    ];

    /// <summary>Line breaks and other control characters: a format carries these only inside an escaping string.</summary>
    public static readonly string[] Controls =
    [
        "a\nExecStartPre=/bin/sh -c id", "x\nkey: injected", "a\r\nb", "a\rb", "a\u2028b", "a\u2029b", "a\u0085b", "a\0b", "a\tb", "\n",
    ];

    public static TheoryData<string> PrintableData => EscaperHarness.Data(Printable);

    public static TheoryData<string> ControlData => EscaperHarness.Data(Controls);
}

/// <summary>
/// A test that needs a host tool: skipped with its reason when the tool is missing, except under CI=true, where
/// .ci/run installs it and a missing tool must fail the test instead.
/// </summary>
public sealed class ToolFactAttribute : FactAttribute
{
    public ToolFactAttribute(params string[] tools)
    {
        var missing = tools.Where(t => ProcessRunner.Find(t) is null).ToList();
        if (missing.Count > 0 && Environment.GetEnvironmentVariable("CI") != "true")
            Skip = $"SKIPPED: needs {string.Join(" and ", missing)} on PATH (.ci/run installs them)";
    }
}
