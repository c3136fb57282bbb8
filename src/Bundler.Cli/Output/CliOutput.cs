using Spectre.Console;

namespace Bundler.Cli;

/// <summary>
/// The one writer all commands print through. Interactive (colours, progress bars) only on a terminal and
/// when <c>CI</c> is not set; plain lines otherwise. Tests construct it over string writers.
/// </summary>
public sealed class CliOutput
{
    /// <param name="width">Columns of the terminal (tests draw on a given width); detected when null.</param>
    /// <param name="ansi">Draw with ANSI escapes even where they cannot be detected (tests capture a live display).</param>
    public CliOutput(TextWriter output, TextWriter error, bool interactive, int? width = null, bool ansi = false)
    {
        Out = output;
        Error = error;
        Interactive = interactive;
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = interactive ? ansi ? AnsiSupport.Yes : AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        if (!interactive)
            Console.Profile.Width = 160;
        if (width is { } columns)
            Console.Profile.Width = columns;
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
