using System.CommandLine;

namespace Bundler.Cli;

/// <summary>
/// <c>kbundle completion bash|zsh</c>: prints a shell script that asks kbundle itself for completions through
/// System.CommandLine's <c>[suggest]</c> directive, so completions always match the installed version.
/// </summary>
public static class CompletionCommand
{
    public sealed record Options(string Shell);

    private static readonly Argument<string> ShellArgument = new("SHELL") { Description = "bash or zsh" };

    static CompletionCommand()
    {
        ShellArgument.AcceptOnlyFromAmong("bash", "zsh");
    }

    public static Command Create(CliOutput output)
    {
        var command = new Command("completion", "Print a shell completion script: source <(kbundle completion bash)") { ShellArgument };
        command.SetAction(parse =>
        {
            output.Out.Write(Script(Bind(parse).Shell));
            return ExitCodes.Success;
        });
        return command;
    }

    public static Options Bind(ParseResult parse) => new(parse.GetValue(ShellArgument)!);

    public static string Script(string shell) => shell switch
    {
        "zsh" => """
            #compdef kbundle
            _kbundle() {
              local -a completions
              completions=("${(@f)$(kbundle "[suggest:$CURSOR]" "$BUFFER" 2>/dev/null)}")
              compadd -- $completions
            }
            compdef _kbundle kbundle

            """,
        _ => """
            # bash completion for kbundle
            _kbundle() {
              local IFS=$'\n'
              COMPREPLY=($(kbundle "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null))
            }
            complete -o default -F _kbundle kbundle

            """,
    };
}
