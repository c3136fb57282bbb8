using System.CommandLine;

namespace Bundler.Cli;

/// <summary>
/// The <c>kbundle</c> command tree. Commands are thin: parse, call the library, render, return a named exit
/// code. <see cref="BuildRoot"/> is public so tests can parse literal command lines.
/// </summary>
public static class Cli
{
    public static RootCommand BuildRoot(CliOutput output)
    {
        var root = new RootCommand("kbundle: build signed, offline installation bundles for binary Kubernetes clusters, one per node.")
        {
            InitCommand.Create(output),
            ValidateCommand.Create(output),
            BuildCommand.Create(output),
            PlanCommand.Create(output),
            CertsCommand.Create(output),
            InspectCommand.Create(output),
            VerifyCommand.Create(output),
            DiffCommand.Create(output),
            ReportCommand.Create(output),
            CompletionCommand.Create(output),
        };
        return root;
    }

    public static async Task<int> RunAsync(string[] args, CliOutput output, CancellationToken cancellationToken = default)
    {
        var root = BuildRoot(output);
        var parse = root.Parse(args);
        var config = new InvocationConfiguration { Output = output.Out, Error = output.Error, EnableDefaultExceptionHandler = false };
        try
        {
            var code = await parse.InvokeAsync(config, cancellationToken).ConfigureAwait(false);
            // System.CommandLine reports parse errors with exit code 1; the contract says usage errors are 2.
            return parse.Errors.Count > 0 ? ExitCodes.UsageError : code;
        }
        catch (Exception e) when (ExitCodes.IsExpected(e))
        {
            output.Error.WriteLine(ExitCodes.Message(e));
            return ExitCodes.For(e);
        }
    }

    /// <summary>Options more than one command takes, created fresh per command (a symbol has one parent).</summary>
    internal static class Shared
    {
        public static Argument<string> Site() => new("SITE") { Description = "The site file (YAML), e.g. sites/example/site.yaml" };

        public static Option<string?> Pins() => new("--pins") { Description = "Use this lock file instead of pins/<kubernetes>.yaml", HelpName = "FILE" };

        public static Option<bool> Json() => new("--json") { Description = "Print machine-readable JSON instead of text" };

        public static Option<string?> State() => new("--state") { Description = "State folder with CA keys and certificates [default: <site file's folder>/state/<site>]", HelpName = "DIR" };
    }
}
