using HandlebarsDotNet;

namespace Bundler.Render;

/// <summary>
/// The templates of one build: the shipped bundle-templates/ folder, with every file of a <c>--templates</c> overlay
/// folder replacing the shipped file of the same relative path. Nothing else changes.
/// </summary>
public sealed class TemplateSet
{
    private readonly Dictionary<string, (string Source, HandlebarsTemplate<object, object> Render)> _compiled = new(StringComparer.Ordinal);
    private readonly IHandlebars _handlebars;

    private TemplateSet(string shippedDir, string? overlayDir)
    {
        ShippedDir = shippedDir;
        OverlayDir = overlayDir;
        // Plain text, not HTML: no escaping. A misspelled {{name}} is an error, not an empty string in a unit file.
        _handlebars = Handlebars.Create(new HandlebarsConfiguration { NoEscape = true, ThrowOnUnresolvedBindingExpression = true });
    }

    public string ShippedDir { get; }
    public string? OverlayDir { get; }

    /// <summary>
    /// Opens the shipped folder and an optional overlay. Every overlay file must replace a shipped one: a file that
    /// replaces nothing is almost always a misspelt name, so it is refused with the list of names allowed.
    /// </summary>
    public static TemplateSet Open(string shippedDir, string? overlayDir = null)
    {
        ArgumentNullException.ThrowIfNull(shippedDir);
        if (!Directory.Exists(shippedDir))
            throw new InvalidOperationException($"the shipped templates folder {shippedDir} is missing (bundle-templates/ beside kbundle)");
        if (overlayDir is null)
            return new TemplateSet(shippedDir, null);
        if (!Directory.Exists(overlayDir))
            throw new UserInputException($"--templates {overlayDir}: folder not found");
        var shipped = RelativeFiles(shippedDir).ToHashSet(StringComparer.Ordinal);
        var unknown = RelativeFiles(overlayDir).Where(f => !shipped.Contains(f)).ToList();
        if (unknown.Count > 0)
            throw new UserInputException(
                $"--templates {overlayDir}: {string.Join(", ", unknown)} replace{(unknown.Count == 1 ? "s" : "")} no shipped template; " +
                $"allowed names (relative to the folder): {string.Join(", ", shipped.Order(StringComparer.Ordinal))}");
        return new TemplateSet(shippedDir, overlayDir);
    }

    /// <summary>The file a template name resolves to: the overlay's copy if it has one, else the shipped one.</summary>
    public string PathOf(string template)
    {
        if (OverlayDir is not null)
        {
            var overlay = Path.Combine(OverlayDir, template);
            if (File.Exists(overlay))
                return overlay;
        }
        return Path.Combine(ShippedDir, template);
    }

    /// <summary>Renders one template with a model; a template or binding error names the template file.</summary>
    public string Render(string template, object model)
    {
        var (source, render) = Compiled(template);
        try
        {
            return render(model);
        }
        catch (Exception e) when (e is HandlebarsException or HandlebarsDotNet.Compiler.HandlebarsUndefinedBindingException)
        {
            throw new UserInputException($"{source}: {e.Message}");
        }
    }

    private (string Source, HandlebarsTemplate<object, object> Render) Compiled(string template)
    {
        if (_compiled.TryGetValue(template, out var found))
            return found;
        var source = PathOf(template);
        if (!File.Exists(source))
            throw new InvalidOperationException($"template {template} is missing from {ShippedDir}");
        try
        {
            var compiled = (source, _handlebars.Compile(File.ReadAllText(source)));
            _compiled[template] = compiled;
            return compiled;
        }
        catch (HandlebarsException e)
        {
            throw new UserInputException($"{source}: {e.Message}");
        }
    }

    private static IEnumerable<string> RelativeFiles(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(dir, f).Replace('\\', '/'));
}
