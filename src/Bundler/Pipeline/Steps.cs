namespace Bundler.Pipeline;

/// <summary>The spelling of step names on the command line (<c>--until</c>) and in reports.</summary>
public static class Steps
{
    public static string Name(StepName step) => step.ToString().ToLowerInvariant();

    public static bool TryParse(string? text, out StepName step) =>
        Enum.TryParse(text, ignoreCase: true, out step) && Enum.IsDefined(step) && text!.All(char.IsLetter);
}
