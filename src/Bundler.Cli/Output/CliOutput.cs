using Spectre.Console;

namespace Bundler.Cli;

/// <summary>
/// The one writer all commands print through. Interactive (colours, progress bars) only on a terminal and
/// when <c>CI</c> is not set; plain lines otherwise. Tests construct it over string writers.
/// </summary>
public sealed class CliOutput
{
    public CliOutput(TextWriter output, TextWriter error, bool interactive)
    {
        Out = output;
        Error = error;
        Interactive = interactive;
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        if (!interactive)
            Console.Profile.Width = 160;
    }

    public TextWriter Out { get; }
    public TextWriter Error { get; }
    public bool Interactive { get; }

    /// <summary>Spectre console over <see cref="Out"/>, for tables and progress.</summary>
    public IAnsiConsole Console { get; }

    public static CliOutput FromConsole()
    {
        var ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        var interactive = !ci && !System.Console.IsOutputRedirected;
        return new CliOutput(System.Console.Out, System.Console.Error, interactive);
    }
}
