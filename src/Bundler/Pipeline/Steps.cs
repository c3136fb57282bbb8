namespace Bundler.Pipeline;

/// <summary>The pipeline, as a table of contents: this list is the execution order.</summary>
public static class Steps
{
    public static IReadOnlyList<IStep> All() =>
    [
        new Fetch.FetchStep(),
        new Nginx.NginxStep(),
        new Pki.PkiStep(),
        new Render.RenderStep(),
        new Packaging.PackageStep(),
        new Signing.SignStep(),
    ];

    public static string Name(StepName step) => step.ToString().ToLowerInvariant();

    public static bool TryParse(string? text, out StepName step) =>
        Enum.TryParse(text, ignoreCase: true, out step) && Enum.IsDefined(step) && text!.All(char.IsLetter);
}
