using System.Globalization;
using System.Text;

namespace Bundler.Render.Escaping;

/// <summary>The file types a template renders; each has its own <see cref="ValueEscaper"/>.</summary>
public enum FileFormat { Systemd, Yaml, Toml, Json, Nginx, Shell, Lines }

/// <summary>A value refused because the file's format cannot carry it where the template places it.</summary>
public sealed class ValueRefusedException(string reason) : Exception(reason);

/// <summary>
/// Text that is already formatted for the file it lands in, placed unchanged: the escape hatch. Only the template
/// function <c>verbatim</c> makes one, so every use is visible in the template.
/// </summary>
public sealed record Verbatim(string Text);

/// <summary>
/// Turns one value a template places into text that stays one value of the file's format: it can add no line,
/// directive, key, argument or token. Where the format can quote or escape the value, it does; where it cannot
/// (a line break in a systemd unit, a space inside a YAML plain scalar that goes on after the value), the value is
/// refused, never silently changed.
/// </summary>
/// <remarks>
/// Escaping depends on where in the file the value stands (a comment, a quoted string, an ExecStart argument), so
/// an escaper sees the file's text so far (<c>before</c>, values in it already escaped) and the template text that
/// follows the value up to the end of its line (<c>after</c>, a later value on that line shown as U+FFFC).
/// </remarks>
public abstract class ValueEscaper
{
    /// <summary>Stands for a later value in <c>after</c>: its text is not known yet, only that something is there.</summary>
    public const char LaterValue = '\uFFFC';

    /// <summary>What the format is called in messages ("a systemd unit").</summary>
    public abstract string Format { get; }

    public static ValueEscaper For(FileFormat format) => format switch
    {
        FileFormat.Systemd => new SystemdEscaper(),
        FileFormat.Yaml => new YamlEscaper(),
        FileFormat.Toml => new TomlEscaper(),
        FileFormat.Json => new JsonEscaper(),
        FileFormat.Nginx => new NginxEscaper(),
        FileFormat.Shell => new ShellEscaper(),
        FileFormat.Lines => new LineConfigEscaper(),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "no escaper for this format"),
    };

    /// <summary>The text to place for <paramref name="value"/>; throws <see cref="ValueRefusedException"/>.</summary>
    public string Escape(object? value, string before, string after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        return value switch
        {
            Verbatim verbatim => verbatim.Text,
            null => Escape("", literal: false, before, after),
            string text => Escape(text, literal: false, before, after),
            bool flag => Escape(flag ? "true" : "false", literal: true, before, after),
            int or long or uint or ulong or short or ushort or byte or sbyte =>
                Escape(Convert.ToString(value, CultureInfo.InvariantCulture)!, literal: true, before, after),
            _ => throw new ValueRefusedException(
                $"is a {value.GetType().Name}; a template places strings, integers and booleans (loop over a list with for)"),
        };
    }

    /// <summary>
    /// Escapes one value. <paramref name="literal"/>: an integer or boolean, whose text is also the format's own
    /// literal (YAML, TOML and JSON place it unquoted).
    /// </summary>
    protected abstract string Escape(string value, bool literal, string before, string after);

    /// <summary>Line breaks and other control characters: no format here carries them outside an escape sequence.</summary>
    protected void RefuseControls(string value, string where)
    {
        ArgumentNullException.ThrowIfNull(value);
        foreach (var c in value)
        {
            if (IsControl(c))
                throw new ValueRefusedException(
                    $"holds {Describe(c)}, which {where} in {Format} cannot carry" +
                    (c is '\n' or '\r' or '\u0085' or '\u2028' or '\u2029' ? " (a line break would start a new line of the file)" : ""));
        }
    }

    /// <summary>Control characters and the Unicode line and paragraph separators (YAML 1.1 reads them as line breaks).</summary>
    protected static bool IsControl(char c) => char.IsControl(c) || c is '\u2028' or '\u2029';

    protected static string Describe(char c) => $"U+{(int)c:X4}" + c switch
    {
        '\n' => " (line feed)",
        '\r' => " (carriage return)",
        '\t' => " (tab)",
        ' ' => " (space)",
        '\0' => " (NUL)",
        '\u0085' => " (next line)",
        '\u2028' => " (line separator)",
        '\u2029' => " (paragraph separator)",
        _ => IsControl(c) ? " (a control character)" : $" ('{c}')",
    };

    /// <summary>The (partial) line the value stands on.</summary>
    protected static string CurrentLine(string before) => before[(before.LastIndexOf('\n') + 1)..];

    /// <summary>Backslash escapes for a quoted string: <paramref name="named"/> maps characters to their short escape.</summary>
    /// <summary>The escapes JSON strings and TOML basic strings share: backslash, quote, and the named control characters.</summary>
    protected static string? CStyleEscape(char c) => c switch
    {
        '\\' => "\\\\",
        '"' => "\\\"",
        '\b' => "\\b",
        '\t' => "\\t",
        '\n' => "\\n",
        '\f' => "\\f",
        '\r' => "\\r",
        _ => null,
    };

    protected static string BackslashEscape(string value, Func<char, string?> named)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(named);
        var text = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            var escape = named(c);
            if (escape is not null)
                text.Append(escape);
            else if (IsControl(c))
                text.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            else
                text.Append(c);
        }
        return text.ToString();
    }
}
