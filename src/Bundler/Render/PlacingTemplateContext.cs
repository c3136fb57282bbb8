using System.Globalization;
using Bundler.Render.Escaping;
using Scriban;
using Scriban.Parsing;
using Scriban.Runtime;
using Scriban.Syntax;

namespace Bundler.Render;

/// <summary>
/// The Scriban context of one render. Strict: an unknown variable, member or index is an error, not an empty
/// string in a unit file. Every value a template places is not written but recorded, and a placeholder
/// (U+E000 index U+E001) stands in its place: <see cref="TemplateSet"/> then hands each value to the file's escaper,
/// which needs the text on both sides of the value to know where it stands (a comment, a quoted string, part of a
/// word). A template author cannot forget to escape: there is no unescaped way out except <c>verbatim</c>.
/// </summary>
internal sealed class PlacingTemplateContext : TemplateContext
{
    public const char Open = '\uE000';
    public const char Close = '\uE001';

    private readonly List<Placement> _placed = [];
    private readonly IScriptOutput _file;
    private ScriptExpressionStatement? _statement;

    /// <summary>One placed value and the expression that placed it (for the error message).</summary>
    public sealed record Placement(object? Value, SourceSpan Span, string Expression);

    public PlacingTemplateContext(IReadOnlyDictionary<string, object?> model)
    {
        StrictVariables = true;
        EnableRelaxedMemberAccess = false;
        EnableRelaxedTargetAccess = false;
        EnableRelaxedIndexerAccess = false;
        EnableRelaxedFunctionAccess = false;
        // Text is written as the template has it: no indentation added to the lines a value or include writes.
        AutoIndent = false;
        NewLine = "\n";
        // The model is nested dictionaries, whose keys are never renamed: templates use the model's own camelCase names.
        MemberRenamer = member => member.Name;
        var globals = new ScriptObject();
        // The escape hatch: text the model already formatted for this file, placed unchanged. Shipped templates do not use it.
        globals.Import("verbatim", new Func<object?, Verbatim>(value => new Verbatim(value as string ?? ObjectToString(value) ?? "")));
        foreach (var (name, value) in model)
            globals.SetValue(name, value, readOnly: true);
        PushGlobal(globals);
        _file = Output;
    }

    public IReadOnlyList<Placement> Placed => _placed;

    public override object? Evaluate(ScriptNode? scriptNode, bool aliasReturnedFunction)
    {
        var result = base.Evaluate(scriptNode, aliasReturnedFunction);
        // Scriban writes a statement's value right after evaluating it, with the span of the enclosing block.
        if (scriptNode is ScriptExpressionStatement statement)
            _statement = statement;
        return result;
    }

    public override TemplateContext Write(SourceSpan span, object? textAsObject)
    {
        // Inside capture (a string being built) a value is plain text: the captured string is escaped where it is placed.
        if (textAsObject is null || !ReferenceEquals(Output, _file))
            return base.Write(span, textAsObject);
        // A captured string is held as its output buffer.
        if (textAsObject is IScriptOutput captured)
            textAsObject = captured.ToString();
        var expression = _statement?.Expression;
        _placed.Add(new Placement(textAsObject, expression?.Span ?? span, expression?.ToString() ?? "a value"));
        return Write(string.Create(CultureInfo.InvariantCulture, $"{Open}{_placed.Count - 1}{Close}"));
    }

    /// <summary>The next placeholder at or after <paramref name="from"/>: its start (-1 if none), end and index.</summary>
    public static (int Start, int End, int Index) NextPlaceholder(string text, int from)
    {
        ArgumentNullException.ThrowIfNull(text);
        var start = text.IndexOf(Open, from);
        if (start < 0)
            return (-1, -1, -1);
        var close = text.IndexOf(Close, start);
        return (start, close + 1, int.Parse(text.AsSpan(start + 1, close - start - 1), CultureInfo.InvariantCulture));
    }

    /// <summary>Text with each placeholder shown as <see cref="ValueEscaper.LaterValue"/>.</summary>
    public static string HidePlaceholders(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        for (var (start, end, _) = NextPlaceholder(text, 0); start >= 0; (start, end, _) = NextPlaceholder(text, start + 1))
            text = string.Concat(text.AsSpan(0, start), ValueEscaper.LaterValue.ToString(), text.AsSpan(end));
        return text;
    }
}
