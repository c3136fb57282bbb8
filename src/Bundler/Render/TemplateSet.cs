using System.Text;
using Bundler.Render.Escaping;
using Scriban;
using Scriban.Parsing;
using Scriban.Syntax;

namespace Bundler.Render;

/// <summary>
/// The templates of one build: the shipped bundle-templates/ folder, with every file of a <c>--templates</c> overlay
/// folder replacing the shipped file of the same relative path. Nothing else changes. Templates are Scriban files
/// (<c>*.sbn</c>); the other files in bundle-templates/ (the installer) are not templates, but an overlay may replace them too.
/// </summary>
public sealed class TemplateSet
{
    public const string Extension = ".sbn";

    private readonly Dictionary<string, (string Source, Template Parsed)> _parsed = new(StringComparer.Ordinal);

    private TemplateSet(string shippedDir, string? overlayDir)
    {
        ShippedDir = shippedDir;
        OverlayDir = overlayDir;
    }

    public string ShippedDir { get; }
    public string? OverlayDir { get; }

    /// <summary>
    /// Opens the shipped folder and an optional overlay. Every overlay file must replace a shipped template: a file
    /// that replaces nothing is almost always a misspelt name, so it is refused with the list of names allowed.
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
        // Any shipped file may be replaced: the Scriban templates, and the installer's shell (read by the package step).
        var shipped = RelativeFiles(shippedDir).ToHashSet(StringComparer.Ordinal);
        var unknown = RelativeFiles(overlayDir).Where(f => !shipped.Contains(f)).ToList();
        if (unknown.Count > 0)
        {
            // Overlays written for the earlier Handlebars templates carry .hbs names.
            var hint = unknown.Any(f => f.EndsWith(".hbs", StringComparison.Ordinal) && shipped.Contains(f[..^4] + Extension))
                ? $"; templates are Scriban files now: rename *.hbs to *{Extension} and rewrite {{{{#each x}}}} as {{{{ for item in x }}}}, {{{{#if}}}} as {{{{ if }}}} (docs/templates.md)"
                : "";
            throw new UserInputException(
                $"--templates {overlayDir}: {string.Join(", ", unknown)} replace{(unknown.Count == 1 ? "s" : "")} no shipped template; " +
                $"allowed names (relative to the folder): {string.Join(", ", shipped.Order(StringComparer.Ordinal))}{hint}");
        }
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

    /// <summary>
    /// Renders one template with a model; every value it places goes through the escaper of <paramref name="format"/>.
    /// A syntax error, an unknown variable or member, or a value the format cannot carry stops the build with
    /// <c>template:line:column</c>.
    /// </summary>
    public string Render(string template, FileFormat format, IReadOnlyDictionary<string, object?> model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (source, parsed) = Parsed(template);
        var context = new PlacingTemplateContext(model);
        string text;
        try
        {
            text = parsed.Render(context);
        }
        catch (ScriptRuntimeException e)
        {
            throw new UserInputException($"{Where(source, e.Span)}: {e.OriginalMessage}");
        }
        return Place(text, context.Placed, ValueEscaper.For(format), source);
    }

    /// <summary>Replaces each placeholder by its value, escaped for where it stands; the file before it is final by then.</summary>
    private static string Place(string text, IReadOnlyList<PlacingTemplateContext.Placement> placed, ValueEscaper escaper, string source)
    {
        var output = new StringBuilder(text.Length + 256);
        var position = 0;
        while (PlacingTemplateContext.NextPlaceholder(text, position) is var (start, end, index) && start >= 0)
        {
            output.Append(text, position, start - position);
            position = end;
            var lineEnd = text.IndexOf('\n', position);
            var after = PlacingTemplateContext.HidePlaceholders(text[position..(lineEnd < 0 ? text.Length : lineEnd)]);
            var value = placed[index];
            try
            {
                output.Append(escaper.Escape(value.Value, output.ToString(), after));
            }
            catch (ValueRefusedException e)
            {
                throw new UserInputException($"{Where(source, value.Span)}: {value.Expression} {e.Message}");
            }
        }
        return output.Append(text, position, text.Length - position).ToString();
    }

    private (string Source, Template Parsed) Parsed(string template)
    {
        if (_parsed.TryGetValue(template, out var found))
            return found;
        var source = PathOf(template);
        if (!File.Exists(source))
            throw new InvalidOperationException($"template {template} is missing from {ShippedDir}");
        var text = File.ReadAllText(source);
        var reserved = text.IndexOfAny([PlacingTemplateContext.Open, PlacingTemplateContext.Close]);
        if (reserved >= 0)
            throw new UserInputException($"{source}: holds U+{(int)text[reserved]:X4}, a private-use character kbundle reserves for rendering");
        var parsed = Template.Parse(text, source);
        if (parsed.HasErrors)
            throw new UserInputException(string.Join(Environment.NewLine,
                parsed.Messages.Where(m => m.Type == ParserMessageType.Error).Select(m => $"{Where(source, m.Span)}: {m.Message}")));
        return _parsed[template] = (source, parsed);
    }

    /// <summary><c>file:line:column</c>, 1-based (Scriban counts from 0).</summary>
    private static string Where(string source, SourceSpan span) => $"{source}:{span.Start.Line + 1}:{span.Start.Column + 1}";

    /// <summary>The templates of a folder (relative paths, '/' separated).</summary>
    private static IEnumerable<string> Templates(string dir) => RelativeFiles(dir).Where(f => f.EndsWith(Extension, StringComparison.Ordinal));

    private static IEnumerable<string> RelativeFiles(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(dir, f).Replace('\\', '/'));
}
