using System.CommandLine;
using Bundler.Pipeline;

namespace Bundler.Cli;

/// <summary>
/// The options that say what a build reads and where it writes (SPEC §6), shared by <c>build</c> and <c>plan</c> (SPEC §8:
/// plan takes every option of build): one instance per command, since a symbol has one parent.
/// </summary>
internal sealed class BuildInputOptions
{
    public Argument<string> Site { get; } = Cli.Shared.Site();
    public Option<string?> Pins { get; } = Cli.Shared.Pins();
    public Option<string[]> Mirror { get; } = new("--mirror")
    {
        Description = "Fetch artifacts from this base URL or local folder first (may be repeated)",
        HelpName = "URL|DIR",
        AllowMultipleArgumentsPerToken = false,
    };
    public Option<string[]> RegistryMirror { get; } = new("--registry-mirror")
    {
        Description = "Pull images of REGISTRY from this mirror first, e.g. registry.k8s.io=https://mirror.example.org (may be repeated)",
        HelpName = "REGISTRY=URL",
        AllowMultipleArgumentsPerToken = false,
    };
    public Option<string?> Cache { get; } = new("--cache") { Description = "Download cache [default: ~/.cache/kbundle]", HelpName = "DIR" };
    public Option<string?> State { get; } = Cli.Shared.State();
    public Option<string?> Out { get; } = new("--out") { Description = "Output folder [default: artifacts/<site>]", HelpName = "DIR" };
    public Option<bool> Offline { get; } = new("--offline") { Description = "Use the cache (and --mirror folders) only; name every missing artifact" };
    public Option<string?> Templates { get; } = new("--templates") { Description = "Folder of templates that replace files of bundle-templates/", HelpName = "DIR" };
    public Option<bool> Renew { get; } = new("--renew") { Description = "Re-issue every leaf certificate (CAs are kept)" };
    public Option<bool> Json { get; } = Cli.Shared.Json();

    /// <summary>Adds them to <paramref name="command"/>, site first, <c>--json</c> last, <paramref name="more"/> between.</summary>
    public Command AddTo(Command command, params Symbol[] more)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Add(Site);
        foreach (var option in new Option[] { Pins, Mirror, RegistryMirror, Cache, State, Out, Offline, Templates, Renew })
            command.Add(option);
        foreach (var symbol in more)
        {
            if (symbol is Option option)
                command.Add(option);
            else if (symbol is Argument argument)
                command.Add(argument);
        }
        command.Add(Json);
        return command;
    }

    /// <summary>What the user gave, as build options (the command adds its own).</summary>
    public BuildOptions Bind(ParseResult parse) => new()
    {
        SitePath = parse.GetValue(Site)!,
        PinsFile = parse.GetValue(Pins),
        Mirrors = parse.GetValue(Mirror) ?? [],
        RegistryMirrors = (parse.GetValue(RegistryMirror) ?? []).Select(Fetch.Images.RegistryMirror.Parse).ToList(),
        CacheDir = parse.GetValue(Cache),
        StateDir = parse.GetValue(State),
        OutDir = parse.GetValue(Out),
        Offline = parse.GetValue(Offline),
        TemplatesDir = parse.GetValue(Templates),
        Renew = parse.GetValue(Renew),
        Json = parse.GetValue(Json),
    };
}
