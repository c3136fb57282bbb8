using System.Globalization;

namespace Bundler.Packaging;

/// <summary>
/// A build's serial and time (SPEC §8): kept in state/&lt;site&gt;/build-serial as "&lt;serial&gt; &lt;unix time&gt;
/// &lt;fingerprint&gt;". The fingerprint is the hash of everything a build writes except the serial and time themselves;
/// the serial grows only when it changes, so an unchanged rebuild writes the same bytes. Package decides it, sign records
/// it once the folder is finished (a build that stops before that hands the same serial to the next one).
/// </summary>
public sealed record BuildSerial(long Number, DateTimeOffset Time, string Fingerprint)
{
    public const string File = "build-serial";

    /// <summary>What headers and the manifest say while the fingerprint is taken: no serial, no time.</summary>
    public static readonly BuildSerial Placeholder = new(0, DateTimeOffset.UnixEpoch, "");

    public string TimeText => Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>The previous build's serial when its output had this fingerprint, else the next serial made now.</summary>
    public static BuildSerial Decide(string stateDir, string fingerprint, DateTimeOffset now)
    {
        var previous = Read(stateDir);
        if (previous is not null && previous.Fingerprint == fingerprint)
            return previous;
        return new BuildSerial((previous?.Number ?? 0) + 1, DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds()), fingerprint);
    }

    public static BuildSerial? Read(string stateDir)
    {
        var path = Path.Combine(stateDir, File);
        if (!System.IO.File.Exists(path))
            return null;
        var parts = System.IO.File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts is [var number, var time, var fingerprint]
            && long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            && long.TryParse(time, NumberStyles.None, CultureInfo.InvariantCulture, out var t))
            return new BuildSerial(n, DateTimeOffset.FromUnixTimeSeconds(t), fingerprint);
        throw new UserInputException($"{path}: not '<serial> <unix time> <fingerprint>'; restore it from a backup of the state folder " +
                                     "(deleting it restarts the serials at 1, and installed nodes would then refuse the new bundles as older)");
    }

    /// <summary>Keeps this serial in state; unchanged when it already is (an unchanged rebuild leaves state as it was).</summary>
    public void Record(string stateDir) =>
        AtomicFile.WriteIfChanged(Path.Combine(stateDir, File),
            FormattableString.Invariant($"{Number} {Time.ToUnixTimeSeconds()} {Fingerprint}\n"), Layout.NodeFile.Public);
}
