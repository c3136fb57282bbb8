using YamlDotNet.RepresentationModel;

namespace Bundler.Configuration;

/// <summary>
/// Reads one YAML mapping field by field, recording where each value sits and reporting unknown keys
/// with a "did you mean" hint. Shared by the site file and the lock file loaders.
/// </summary>
internal sealed class YamlFields
{
    private readonly YamlMappingNode _node;
    private readonly DiagnosticBag _bag;
    private readonly string _path;

    public YamlFields(YamlMappingNode node, DiagnosticBag bag, string path, IReadOnlyCollection<string> known)
    {
        _node = node;
        _bag = bag;
        _path = path;
        foreach (var (key, _) in node.Children)
        {
            var name = (key as YamlScalarNode)?.Value ?? "";
            if (!known.Contains(name))
            {
                var hint = Suggest.Closest(name, known);
                _bag.Error(At(key), Field(name), "unknown key",
                    hint is null ? $"allowed: {string.Join(", ", known)}" : $"did you mean '{hint}'?");
            }
        }
    }

    public Location Location => At(_node);

    public string Field(string key) => _path.Length == 0 ? key : $"{_path}.{key}";

    public static Location At(YamlNode node) => new((int)node.Start.Line, (int)node.Start.Column);

    public YamlNode? Get(string key) =>
        _node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    /// <summary>Location of the value, or of the mapping that lacks it.</summary>
    public Location AtValue(string key) => Get(key) is { } v ? At(v) : Location;

    public string? Scalar(string key, bool required = false)
    {
        var value = Get(key);
        if (value is null || value is YamlScalarNode { Value: null or "" or "~" or "null" } && value.Tag.IsEmpty)
        {
            if (required)
                _bag.Error(value is null ? Location : At(value), Field(key), "is required", null);
            return null;
        }
        if (value is not YamlScalarNode scalar)
        {
            _bag.Error(At(value), Field(key), "must be a single value, not a list or mapping");
            return null;
        }
        if (ControlCharacter(scalar.Value) is { } bad)
        {
            _bag.Error(At(value), Field(key), $"contains {bad}", "allowed: one line of printable text");
            return null;
        }
        return scalar.Value;
    }

    /// <summary>
    /// Names the first control character in a value ("a newline", "U+0007"), or null. A newline in any value would end
    /// the line of a unit file, a shell variable or a config it is rendered into, so no value may carry one.
    /// </summary>
    public static string? ControlCharacter(string? value)
    {
        foreach (var c in value ?? "")
        {
            if (c == '\n')
                return "a newline";
            if (c == '\r')
                return "a carriage return";
            if (char.IsControl(c) || c is '\u2028' or '\u2029')
                return $"the control character U+{(int)c:X4}";
        }
        return null;
    }

    public string String(string key, string fallback) => Scalar(key) ?? fallback;

    public int Int(string key, int fallback, int min, int max)
    {
        var text = Scalar(key);
        if (text is null)
            return fallback;
        if (!int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var v) || v < min || v > max)
        {
            _bag.Error(AtValue(key), Field(key), $"'{text}' is not a valid number", $"allowed: an integer from {min} to {max}");
            return fallback;
        }
        return v;
    }

    public bool Bool(string key, bool fallback)
    {
        var text = Scalar(key);
        switch (text)
        {
            case null: return fallback;
            case "true": return true;
            case "false": return false;
            default:
                _bag.Error(AtValue(key), Field(key), $"'{text}' is not a boolean", "allowed: true, false");
                return fallback;
        }
    }

    public YamlMappingNode? Mapping(string key, bool required = false)
    {
        var value = Get(key);
        switch (value)
        {
            case YamlMappingNode m: return m;
            case null:
                if (required)
                    _bag.Error(Location, Field(key), "is required");
                return null;
            case YamlScalarNode { Value: null or "" or "~" or "null" }:
                return null;
            default:
                _bag.Error(At(value), Field(key), "must be a mapping (key: value lines)");
                return null;
        }
    }

    public YamlSequenceNode? Sequence(string key, bool required = false)
    {
        var value = Get(key);
        switch (value)
        {
            case YamlSequenceNode s: return s;
            case null:
                if (required)
                    _bag.Error(Location, Field(key), "is required", "a list");
                return null;
            default:
                _bag.Error(At(value), Field(key), "must be a list");
                return null;
        }
    }
}

/// <summary>"Did you mean" hints: the closest known word within a small edit distance.</summary>
public static class Suggest
{
    public static string? Closest(string word, IEnumerable<string> known)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var d = Distance(word.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (d < bestDistance)
            {
                best = candidate;
                bestDistance = d;
            }
        }
        return bestDistance <= Math.Max(2, word.Length / 3) ? best : null;
    }

    /// <summary>Levenshtein distance.</summary>
    public static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
            previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
