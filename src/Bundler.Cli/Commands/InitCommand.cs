using System.CommandLine;
using Bundler.Configuration;

namespace Bundler.Cli;

/// <summary><c>kbundle init [DIR]</c>: writes a commented example site to DIR/site.yaml.</summary>
public static class InitCommand
{
    public sealed record Options(string Directory, bool Force);

    private static readonly Argument<string> DirArgument = new("DIR") { Description = "Folder to write site.yaml into", DefaultValueFactory = _ => "." };
    private static readonly Option<bool> ForceOption = new("--force") { Description = "Overwrite an existing site.yaml" };

    public static Command Create(CliOutput output)
    {
        var command = new Command("init", "Write a commented example site file to DIR/site.yaml") { DirArgument, ForceOption };
        command.SetAction(parse => Run(Bind(parse), output));
        return command;
    }

    public static Options Bind(ParseResult parse) => new(parse.GetValue(DirArgument)!, parse.GetValue(ForceOption));

    public static int Run(Options options, CliOutput output)
    {
        var path = Path.Combine(options.Directory, "site.yaml");
        if (File.Exists(path) && !options.Force)
        {
            output.Error.WriteLine($"{path}: already exists; pass --force to overwrite it");
            return ExitCodes.UsageError;
        }
        try
        {
            AtomicFile.WriteAllText(path, ExampleSite.Text());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            output.Error.WriteLine($"{path}: cannot write it ({e.Message}); choose a folder you can write: kbundle init DIR");
            return ExitCodes.UsageError;
        }
        output.Out.WriteLine($"wrote {path}: edit the nodes, then run 'kbundle validate {path}'");
        return ExitCodes.Success;
    }
}
