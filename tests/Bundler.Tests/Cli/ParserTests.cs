using Bundler.Cli;
using Bundler.Pipeline;

namespace Bundler.Tests.Cli;

/// <summary>Literal command lines, as users type them, for every command and option.</summary>
public class ParserTests
{
    [Fact]
    public void GivenEveryBuildOption_WhenParsed_ThenEachIsBound()
    {
        var parse = CliRunner.Parse(
            "build sites/x.yaml --pins p.yaml --mirror http://mirror.local/k8s --mirror /media/usb --cache /c --state /s --out /o " +
            "--offline --until pki --templates /t --renew --new-cluster --json " +
            "--registry-mirror registry.k8s.io=https://mirror.local --registry-mirror index.docker.io=http://10.0.0.5:5000");

        Assert.Empty(parse.Errors);
        var options = BuildCommand.Bind(parse);
        Assert.Equal("sites/x.yaml", options.SitePath);
        Assert.Equal("p.yaml", options.PinsFile);
        Assert.Equal(["http://mirror.local/k8s", "/media/usb"], options.Mirrors);
        Assert.Equal([("registry.k8s.io", "https://mirror.local/"), ("docker.io", "http://10.0.0.5:5000/")],
            options.RegistryMirrors.Select(m => (m.Registry, m.Url.ToString())));
        Assert.Equal(("/c", "/s", "/o", "/t"), (options.CacheDir, options.StateDir, options.OutDir, options.TemplatesDir));
        Assert.True(options.Offline && options.Renew && options.Json && options.NewCluster);
        Assert.Equal(StepName.Pki, options.Until);
    }

    [Fact]
    public void GivenABareBuildCommandLine_WhenParsed_ThenTheDefaultsFollowTheSpec()
    {
        var options = BuildCommand.Bind(CliRunner.Parse("build site.yaml"));

        Assert.Null(options.Until);
        Assert.Empty(options.Mirrors);
        Assert.Empty(options.RegistryMirrors);
        Assert.False(options.Offline || options.Renew || options.Json || options.NewCluster);
        Assert.EndsWith(Path.Combine("state", "lab"), options.ResolveStateDir("lab"));
        Assert.EndsWith(Path.Combine("artifacts", "lab"), options.ResolveOutDir("lab"));
        Assert.EndsWith(Path.Combine(".cache", "kbundle"), BuildOptions.DefaultCacheDir());
    }

    [Theory]
    [InlineData("fetch", StepName.Fetch)]
    [InlineData("nginx", StepName.Nginx)]
    [InlineData("pki", StepName.Pki)]
    [InlineData("render", StepName.Render)]
    [InlineData("package", StepName.Package)]
    [InlineData("sign", StepName.Sign)]
    public void GivenAStepName_WhenPassedToUntil_ThenItParses(string text, StepName step)
    {
        Assert.Equal(step, BuildCommand.Bind(CliRunner.Parse($"build site.yaml --until {text}")).Until);
    }

    [Theory]
    [InlineData("build site.yaml --until deploy")]
    [InlineData("build")]
    [InlineData("build site.yaml --frobnicate")]
    [InlineData("validate")]
    [InlineData("completion fish")]
    [InlineData("diff only-one.run")]
    [InlineData("launch")]
    public void GivenABadCommandLine_WhenRun_ThenItIsAUsageErrorWithExit2(string line)
    {
        var result = CliRunner.Run(line.Split(' '));

        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        Assert.NotEqual("", result.Error);
    }

    [Fact]
    public void GivenAValidateCommandLine_WhenParsed_ThenSitePinsAndJsonAreBound()
    {
        var options = ValidateCommand.Bind(CliRunner.Parse("validate s.yaml --pins p.yaml --json"));
        Assert.Equal(new ValidateCommand.Options("s.yaml", "p.yaml", true), options);
    }

    [Fact]
    public void GivenAnInitCommandLine_WhenParsed_ThenTheFolderIsOptionalAndForceIsBound()
    {
        Assert.Equal(new InitCommand.Options(".", false), InitCommand.Bind(CliRunner.Parse("init")));
        Assert.Equal(new InitCommand.Options("sites/lab", true), InitCommand.Bind(CliRunner.Parse("init sites/lab --force")));
    }

    [Fact]
    public void GivenACertsCommandLineWithEveryOption_WhenParsed_ThenSiteStatePinsAndJsonAreBound()
    {
        Assert.Equal(new CertsCommand.Options("s.yaml", "/st", "p.yaml", true), CertsCommand.Bind(CliRunner.Parse("certs s.yaml --state /st --pins p.yaml --json")));
    }

    [Fact]
    public void GivenInspectVerifyAndDiffCommandLines_WhenParsed_ThenTheirArgumentsAreBound()
    {
        Assert.Equal(new InspectCommand.Options("k8s-01.run", true), InspectCommand.Bind(CliRunner.Parse("inspect k8s-01.run --json")));
        Assert.Equal(new VerifyCommand.Options("artifacts/lab", "key.pub"), VerifyCommand.Bind(CliRunner.Parse("verify artifacts/lab --pubkey key.pub")));
        Assert.Equal(new DiffCommand.Options("old", "new"), DiffCommand.Bind(CliRunner.Parse("diff old new")));
        Assert.Equal(new DiffCommand.Options("old", "new", Stat: true, Json: true), DiffCommand.Bind(CliRunner.Parse("diff --stat old new --json")));
        Assert.Equal(new CertsCommand.Options("s.yaml", null, null, false, Wide: true), CertsCommand.Bind(CliRunner.Parse("certs s.yaml --wide")));
    }

    [Theory]
    [InlineData("bash", "complete -o default -F _kbundle kbundle")]
    [InlineData("zsh", "compdef _kbundle kbundle")]
    public void GivenAShell_WhenCompletionRuns_ThenItPrintsAScriptThatAsksKbundleForSuggestions(string shell, string expected)
    {
        var result = CliRunner.Run("completion", shell);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains(expected, result.Out);
        Assert.Contains("[suggest:", result.Out);
    }

    [Fact]
    public void GivenAPartialCommandLine_WhenTheSuggestDirectiveRuns_ThenCommandsAndOptionsAreCompleted()
    {
        // As the bash script calls it: the whole line (with the program name) and the cursor position.
        var commands = CliRunner.Run("[suggest:9]", "kbundle v");
        Assert.Contains("validate", commands.Out);
        Assert.Contains("verify", commands.Out);

        var options = CliRunner.Run("[suggest:29]", "kbundle build site.yaml --unt");
        Assert.Contains("--until", options.Out);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("init --help")]
    [InlineData("validate --help")]
    [InlineData("build --help")]
    [InlineData("certs --help")]
    [InlineData("inspect --help")]
    [InlineData("verify --help")]
    [InlineData("diff --help")]
    [InlineData("completion --help")]
    public void GivenEveryCommand_WhenAskedForHelp_ThenItPrintsIt(string line)
    {
        var result = CliRunner.Run(line.Split(' '));

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Usage:", result.Out);
    }
}
