namespace Bundler.Configuration;

public enum Severity { Error, Warning }

/// <summary>
/// One problem in an input file, printed as <c>file:line:column field: what is wrong; what is allowed</c>.
/// </summary>
public sealed record Diagnostic(
    Severity Severity, string File, int Line, int Column, string Field, string Problem, string? Allowed = null)
{
    public override string ToString()
    {
        var where = Line > 0 ? $"{File}:{Line}:{Column}" : File;
        var text = Allowed is null ? Problem : $"{Problem}; {Allowed}";
        var prefix = Severity == Severity.Warning ? "warning: " : "";
        return $"{prefix}{where} {Field}: {text}";
    }
}

/// <summary>Collects every problem found, so a user sees them all at once rather than one per run.</summary>
public sealed class DiagnosticBag
{
    private readonly List<Diagnostic> _items = [];

    public DiagnosticBag(string file) => File = file;

    public string File { get; }
    public IReadOnlyList<Diagnostic> Items => _items;
    public bool HasErrors => _items.Any(d => d.Severity == Severity.Error);
    public IEnumerable<Diagnostic> Errors => _items.Where(d => d.Severity == Severity.Error);
    public IEnumerable<Diagnostic> Warnings => _items.Where(d => d.Severity == Severity.Warning);

    public void Error(Location at, string field, string problem, string? allowed = null) =>
        _items.Add(new Diagnostic(Severity.Error, File, at.Line, at.Column, field, problem, allowed));

    public void Warning(Location at, string field, string problem, string? allowed = null) =>
        _items.Add(new Diagnostic(Severity.Warning, File, at.Line, at.Column, field, problem, allowed));

    /// <summary>Throws <see cref="UserInputException"/> carrying every error if there is at least one.</summary>
    public void ThrowIfErrors()
    {
        if (HasErrors)
            throw new UserInputException(Errors.OrderBy(d => d.Line).ThenBy(d => d.Column).ToList());
    }
}

/// <summary>A 1-based position in a source file; <see cref="None"/> when the field is absent.</summary>
public readonly record struct Location(int Line, int Column)
{
    public static readonly Location None = new(0, 0);
}
