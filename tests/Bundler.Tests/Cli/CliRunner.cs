using Bundler.Cli;

namespace Bundler.Tests.Cli;

/// <summary>Runs kbundle in-process with captured output, as a user would type it.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Out, string Error)
    {
        public string All => Out + Error;
    }

    public static Result Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = Bundler.Cli.Cli.RunAsync(args, new CliOutput(output, error, interactive: false)).GetAwaiter().GetResult();
        return new Result(code, output.ToString(), error.ToString());
    }

    public static System.CommandLine.ParseResult Parse(string commandLine) =>
        Bundler.Cli.Cli.BuildRoot(new CliOutput(TextWriter.Null, TextWriter.Null, interactive: false)).Parse(commandLine);
}
