using System.Text;
using Bundler.Render.Escaping;
using static Bundler.Tests.Render.Escaping.EscaperHarness;

namespace Bundler.Tests.Render.Escaping;

/// <summary>The oracle is the real shell: bash and dash run the escaped script and print each value back.</summary>
public sealed class ShellEscaperTests
{
    private static readonly ShellEscaper Escaper = new();

    public static TheoryData<string> ControlData => Hostile.ControlData;

    public static TheoryData<string, string, string> Contexts => new()
    {
        { "bash", "printf '[%s]\\n' ⟨⟩ end\n", "[{0}]\n[end]\n" },
        { "bash", "printf '[%s]\\n' --name=⟨⟩\n", "[--name={0}]\n" },
        { "bash", "printf '[%s]\\n' \"pre ⟨⟩ post\"\n", "[pre {0} post]\n" },
        { "bash", "printf '[%s]\\n' 'pre ⟨⟩ post'\n", "[pre {0} post]\n" },
        { "bash", "cat <<EOF\nline ⟨⟩\nEOF\n", "line {0}\n" },
        { "bash", "cat <<-'EOF'\n\tline ⟨⟩\n\tEOF\n", "line {0}\n" },
        { "bash", "# ⟨⟩\nprintf '[ok]\\n'\n", "[ok]\n" },
        { "dash", "printf '[%s]\\n' ⟨⟩ end\n", "[{0}]\n[end]\n" },
        { "dash", "printf '[%s]\\n' \"pre ⟨⟩ post\"\n", "[pre {0} post]\n" },
        { "dash", "cat <<EOF\nline ⟨⟩\nEOF\n", "line {0}\n" },
    };

    [Theory]
    [MemberData(nameof(Contexts))]
    public async Task GivenEveryHostileValueInOneShellContext_WhenTheShellRunsTheScript_ThenItPrintsEachValueExactly(string shell, string block, string output)
    {
        Assert.NotNull(ProcessRunner.Find(shell));
        using var dir = new TempDir("kbundle-shell");
        var script = "";
        var expected = new StringBuilder();
        foreach (var value in Hostile.Printable)
        {
            script = Place(Escaper, script + block, value);
            expected.Append(output.Replace("{0}", value, StringComparison.Ordinal));
        }
        var path = dir.File("script.sh");
        await File.WriteAllTextAsync(path, script);

        var result = await ProcessRunner.RunAsync(shell, [path]);

        Assert.True(result.Succeeded, result.Tail());
        Assert.Equal(expected.ToString(), result.StandardOutput);
    }

    [Theory]
    [MemberData(nameof(ControlData))]
    public void GivenALineBreakAnywhere_WhenPlaced_ThenItIsRefused(string value)
    {
        foreach (var template in new[] { "# ⟨⟩\n", "echo ⟨⟩\n", "echo \"⟨⟩\"\n", "cat <<EOF\n⟨⟩\nEOF\n" })
            Refused(Escaper, template, value);
    }

    [Fact]
    public void GivenTheDelimiterOfTheHereDocument_WhenPlacedAsAWholeLine_ThenItIsRefused()
    {
        Assert.Contains("ends the here-document", Refused(Escaper, "cat <<EOF\n⟨⟩\nEOF\n", "EOF").Message, StringComparison.Ordinal);
    }
}
