namespace Bundler.Cli;

/// <summary>A command whose work is not built yet says so and fails; it never pretends.</summary>
internal static class NotYet
{
    public static int Report(string command, CliOutput output)
    {
        output.Error.WriteLine($"kbundle {command}: not implemented yet");
        return ExitCodes.Failure;
    }
}
