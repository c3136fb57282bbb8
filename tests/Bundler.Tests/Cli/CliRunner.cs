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

    /// <summary>
    /// Runs kbundle in a process of its own (the kbundle.dll beside the tests), for what must not take the test host down
    /// with it if it goes wrong (a stack overflow, running out of memory) or needs its own working folder.
    /// </summary>
    public static Result RunProcess(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var result = ProcessRunner.RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "kbundle.dll"), .. args], workingDirectory, environment)
            .GetAwaiter().GetResult();
        return new Result(result.ExitCode, result.StandardOutput, result.StandardError);
    }

    public static System.CommandLine.ParseResult Parse(string commandLine) =>
        Bundler.Cli.Cli.BuildRoot(new CliOutput(TextWriter.Null, TextWriter.Null, interactive: false)).Parse(commandLine);
}
