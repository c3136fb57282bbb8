using Bundler.Layout;
using Bundler.Render.Escaping;
using static Bundler.Tests.Render.Escaping.EscaperHarness;

namespace Bundler.Tests.Render.Escaping;

public sealed class SystemdEscaperTests
{
    private static readonly SystemdEscaper Escaper = new();

    public static TheoryData<string> PrintableData => Hostile.PrintableData;

    public static TheoryData<string> ControlData => Hostile.ControlData;

    [Theory]
    [MemberData(nameof(PrintableData))]
    public void GivenAHostileValueInsideAnExecStartArgument_WhenSystemdReadsTheCommandLine_ThenItIsThatOneArgument(string value)
    {
        var unit = Place(Escaper, "[Service]\nExecStart=/opt/k8s/bin/etcd \\\n  --name=⟨⟩ \\\n  --v=2\nRestart=always\n", value);

        var settings = SystemdReader.Settings(unit);

        Assert.Equal(["ExecStart", "Restart"], settings.Select(s => s.Key));
        var command = Assert.Single(SystemdReader.Commands(settings[0].Value));
        Assert.Equal(["/opt/k8s/bin/etcd", "--name=" + value, "--v=2"], command);
    }

    [Theory]
    [MemberData(nameof(PrintableData))]
    public void GivenAHostileValueAsAWholeExecStartPreArgument_WhenSystemdReadsIt_ThenItIsThatOneArgumentAndNoSecondCommand(string value)
    {
        var unit = Place(Escaper, "[Service]\nExecStartPre=/opt/k8s/bin/tool ⟨⟩ --v=2\n", value);

        var commands = SystemdReader.Commands(Assert.Single(SystemdReader.Settings(unit)).Value);

        Assert.Equal([["/opt/k8s/bin/tool", value, "--v=2"]], commands);
    }

    [Theory]
    [MemberData(nameof(PrintableData))]
    public void GivenAHostileValueInEnvironment_WhenSystemdReadsIt_ThenItIsTheValueOfThatOneVariable(string value)
    {
        var quoted = Place(Escaper, "[Service]\nEnvironment=\"PATH=⟨⟩:/usr/bin\" \"X=1\"\n", value);
        var bare = Place(Escaper, "[Service]\nEnvironment=PATH=⟨⟩ X=1\n", value);

        Assert.Equal([("PATH", value + ":/usr/bin"), ("X", "1")], SystemdReader.Assignments(Assert.Single(SystemdReader.Settings(quoted)).Value));
        Assert.Equal([("PATH", value), ("X", "1")], SystemdReader.Assignments(Assert.Single(SystemdReader.Settings(bare)).Value));
    }

    [Theory]
    [MemberData(nameof(PrintableData))]
    public void GivenAHostileValueInAComment_WhenSystemdReadsTheUnit_ThenItAddsNoSetting(string value)
    {
        var unit = Place(Escaper, "# etcd ⟨⟩ member (rendered by kbundle)\n[Unit]\nDescription=etcd\n", value);

        Assert.Equal(["Description"], SystemdReader.Settings(unit).Select(s => s.Key));
        Assert.StartsWith("# etcd " + value + " member", unit, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ControlData))]
    public void GivenALineBreakOrControlCharacter_WhenPlacedAnywhereInAUnit_ThenItIsRefusedNamingTheCharacter(string value)
    {
        foreach (var template in new[]
                 {
                     "[Service]\nExecStart=/bin/x --name=⟨⟩\n", "[Service]\nEnvironment=\"A=⟨⟩\"\n",
                     "[Service]\nWorkingDirectory=⟨⟩\n", "# comment ⟨⟩\n",
                 })
        {
            var e = Refused(Escaper, template, value);
            Assert.Contains("holds U+", e.Message, StringComparison.Ordinal);
            Assert.Contains("cannot carry", e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("+/bin/sh")]
    [InlineData("-/bin/x")]
    [InlineData("@/bin/x")]
    [InlineData(":/bin/x")]
    [InlineData("!/bin/x")]
    [InlineData(";")]
    [InlineData("kube-apiserver")]
    [InlineData("x y")]
    public void GivenAValueThatStartsTheCommandWithAPrefixOrARelativePath_WhenPlaced_ThenItIsRefused(string value)
    {
        Assert.Contains("absolute path", Refused(Escaper, "[Service]\nExecStart=⟨⟩ --x\n", value).Message, StringComparison.Ordinal);
        Assert.Contains("absolute path", Refused(Escaper, "[Service]\nExecStartPre=-⟨⟩/kube-nginx -t\n", value).Message, StringComparison.Ordinal);
        Assert.Contains("absolute path", Refused(Escaper, "[Service]\nExecStart=\"⟨⟩\" --x\n", value).Message, StringComparison.Ordinal);
        if (!value.StartsWith(';'))
            Assert.Contains("prefix", Refused(Escaper, "[Service]\nExecStart=⟨⟩ --x\n", "+" + value).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenAPathThatStartsTheCommand_WhenPlaced_ThenItIsTheExecutable()
    {
        var unit = Place(Escaper, "[Service]\nExecStartPre=-⟨⟩/kube-nginx -t\n", "/opt/k8s bin");

        Assert.Equal([["/opt/k8s bin/kube-nginx", "-t"]], SystemdReader.Commands(Assert.Single(SystemdReader.Settings(unit)).Value, prefix: "-"));
        Assert.Contains("ExecStartPre=-/opt/k8s\\sbin/kube-nginx -t", unit, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/var/lib/a b")]
    [InlineData("/var/lib/\"x\"")]
    [InlineData("/var/lib/x'")]
    [InlineData("/var/lib/x\\")]
    [InlineData("-/var/lib/etcd")]
    [InlineData("~")]
    public void GivenASpaceQuoteBackslashOrPrefixInASettingThatTakesItsValueAsWritten_WhenPlaced_ThenItIsRefused(string value)
    {
        var e = Refused(Escaper, "[Service]\nWorkingDirectory=⟨⟩\n", value);

        Assert.Contains("WorkingDirectory=", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenAPercentInASettingThatTakesItsValueAsWritten_WhenPlaced_ThenItIsASpecifierEscape()
    {
        var unit = Place(Escaper, "[Service]\nWorkingDirectory=⟨⟩\n", "/var/lib/100%n");

        Assert.Equal("/var/lib/100%%n", Assert.Single(SystemdReader.Settings(unit)).Value);
    }

    [Theory]
    [InlineData("[Service]\n⟨⟩=1\n", "A=B")]
    [InlineData("[Service]\n⟨⟩=1\n", "A B")]
    [InlineData("[⟨⟩]\n", "Service] x")]
    [InlineData("[⟨⟩]\n", "A]x")]
    [InlineData("[Service]\nAfter=⟨⟩\n", "")]
    [InlineData("[Service]\nEnvironment=⟨⟩=1\n", "A=B")]
    [InlineData("[Service]\nExecStart=/bin/x \\\n⟨⟩ --v\n", "#c")]
    public void GivenAValueInANameAnEmptyAssignmentOrALineStart_WhenPlaced_ThenItIsRefused(string template, string value)
    {
        Refused(Escaper, template, value);
    }

    [ToolFact("systemd-analyze")]
    public async Task GivenEveryHostileValueEscapedIntoAUnit_WhenSystemdAnalyzeVerifiesIt_ThenSystemdAcceptsItButNotTheUnescapedValue()
    {
        using var root = new TempDir("kbundle-systemd");
        var tool = root.File("opt", "k8s", "bin", "tool");
        Directory.CreateDirectory(Path.GetDirectoryName(tool)!);
        await File.WriteAllTextAsync(tool, "#!/bin/sh\n");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(tool, NodeFile.Executable);
        var unit = "[Unit]\nDescription=hostile values\nDefaultDependencies=no\n[Service]\nType=oneshot\n";
        foreach (var (value, i) in Hostile.Printable.Select((v, i) => (v, i)))
        {
            unit = Place(Escaper, unit + $"ExecStartPre=/opt/k8s/bin/tool --v{i}=⟨⟩ ⟨⟩\n", value);
            unit = Place(Escaper, unit, value);
            unit = Place(Escaper, unit + $"Environment=\"V{i}=⟨⟩\"\n", value);
        }
        unit += "ExecStart=/opt/k8s/bin/tool\n";

        var accepted = await Verify(root, unit);
        // The control: the same check reports what escaping prevents (an unknown specifier, an invalid escape).
        var unescaped = await Verify(root, unit + "ExecStartPost=/opt/k8s/bin/tool --x=100%z \\q\n");

        Assert.True(accepted.Succeeded && accepted.StandardError.Trim().Length == 0, accepted.Tail());
        Assert.False(unescaped.StandardError.Trim().Length == 0, "systemd-analyze did not notice %z and \\q: the check proves nothing");
    }

    private static async Task<ProcessResult> Verify(TempDir root, string unit)
    {
        var path = root.File("etc", "systemd", "system", "hostile.service");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, unit);
        return await ProcessRunner.RunAsync("systemd-analyze", ["verify", "--man=no", $"--root={root.Path}", "hostile.service"]);
    }
}
