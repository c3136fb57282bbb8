using System.Globalization;
using Bundler.Layout;

namespace Bundler.Pki;

/// <summary>
/// The one mtime of every payload entry: SOURCE_DATE_EPOCH if set (reproducible-builds.org), else a value made once and
/// kept in state/&lt;site&gt;/source-date-epoch, so every later build of the site reuses it.
/// </summary>
public static class SourceDateEpoch
{
    public const string File = "source-date-epoch";
    public const string Variable = "SOURCE_DATE_EPOCH";

    public static long Ensure(string stateDir)
    {
        var fromEnv = Environment.GetEnvironmentVariable(Variable);
        if (!string.IsNullOrEmpty(fromEnv))
            return long.TryParse(fromEnv, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 0
                ? value
                : throw new UserInputException($"{Variable}={fromEnv}: must be a whole number of seconds since 1970");
        var file = Path.Combine(stateDir, File);
        if (System.IO.File.Exists(file) && long.TryParse(System.IO.File.ReadAllText(file).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var stored))
            return stored;
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (!Directory.Exists(stateDir) && !OperatingSystem.IsWindows())
            Directory.CreateDirectory(stateDir, NodeFile.SecretDir);
        AtomicFile.WriteAllText(file, now.ToString(CultureInfo.InvariantCulture) + "\n", NodeFile.Public);
        return now;
    }
}
