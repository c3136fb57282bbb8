using System.Reflection;

namespace Bundler.Configuration;

/// <summary>
/// A lock entry's <c>license:</c>: one SPDX licence id (<c>Apache-2.0</c>), or several joined by <c>AND</c> / <c>OR</c>
/// (<c>MIT OR Apache-2.0</c>). Every id must be on the SPDX list CycloneDX validates against (spdx-ids.txt), so the SBOM
/// a build writes is valid whatever the lock says.
/// </summary>
public static class SpdxLicense
{
    private static readonly Lazy<HashSet<string>> Known = new(Load);

    public static IReadOnlyCollection<string> Ids => Known.Value;

    /// <summary>The ids of an expression (<c>MIT OR Apache-2.0</c> → MIT, Apache-2.0).</summary>
    public static IReadOnlyList<string> IdsOf(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        return expression.Split(' ').Where((_, i) => i % 2 == 0).ToList();
    }

    /// <summary>Whether the value is a single id rather than an expression.</summary>
    public static bool IsSingleId(string expression) => !expression.Contains(' ', StringComparison.Ordinal);

    /// <summary>Why <paramref name="value"/> is not an accepted licence (and a hint), or null when it is.</summary>
    public static (string Problem, string Allowed)? Check(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var words = value.Split(' ');
        if (words.Length % 2 == 0 || words.Any(w => w.Length == 0))
            return ($"'{value}' is not an SPDX licence expression", "allowed: an SPDX id, or ids joined by ' AND ' or ' OR ', e.g. Apache-2.0");
        for (var i = 0; i < words.Length; i++)
        {
            var word = words[i];
            if (i % 2 == 1)
            {
                if (word is not ("AND" or "OR"))
                    return ($"'{value}': '{word}' is not AND or OR", "allowed: ids joined by ' AND ' or ' OR ' (no parentheses, no WITH)");
                continue;
            }
            if (Known.Value.Contains(word))
                continue;
            var exact = Known.Value.FirstOrDefault(k => string.Equals(k, word, StringComparison.OrdinalIgnoreCase));
            // Ids differ from how people write them mostly in case and punctuation: Apache2, apache 2.0 -> Apache-2.0.
            var byLetters = Known.Value.GroupBy(Letters).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
            var hint = exact ?? (Suggest.Closest(Letters(word), byLetters.Keys) is { } close ? byLetters[close] : null);
            return ($"'{word}' is not an SPDX licence id", hint is null
                ? "allowed: an id of the SPDX licence list (https://spdx.org/licenses/), e.g. Apache-2.0, BSD-2-Clause, MIT"
                : $"did you mean '{hint}'?");
        }
        return null;
    }

    private static string Letters(string id) => string.Concat(id.Where(char.IsAsciiLetterOrDigit)).ToLowerInvariant();

    private static HashSet<string> Load()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Bundler.spdx-ids.txt")
                           ?? throw new InvalidOperationException("the SPDX id list is not embedded in Bundler.dll");
        using var reader = new StreamReader(stream);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
            if (line.Length > 0 && !line.StartsWith('#'))
                ids.Add(line);
        return ids;
    }
}
