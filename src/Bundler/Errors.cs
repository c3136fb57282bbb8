namespace Bundler;

/// <summary>Exit codes shared by <c>kbundle</c> and the bundle installer (SPEC §3, §6).</summary>
public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>A step failed (build) or an install failed and was rolled back (installer).</summary>
    public const int Failure = 1;
    /// <summary>Bad input: site file, lock file, options.</summary>
    public const int UsageError = 2;
    /// <summary>Installer only: a preflight check failed.</summary>
    public const int PreflightFailed = 3;
    /// <summary>An integrity check failed: checksum, signature, payload.</summary>
    public const int IntegrityError = 4;

    /// <summary>The exit code of a failure: the one mapping from exceptions to codes, for every command.</summary>
    public static int For(Exception error) => Unwrap(error) switch
    {
        UserInputException => UsageError,
        IntegrityException => IntegrityError,
        _ => Failure,
    };

    /// <summary>
    /// A failure the user acts on (bad input, an integrity check, a download that failed everywhere): printed as its
    /// message alone. Anything else is a bug and is printed with its stack trace.
    /// </summary>
    /// <remarks>The file system saying no (a full disk, a folder taken away, permissions) is the machine's state, not a bug: its
    /// message names the path.</remarks>
    public static bool IsExpected(Exception error) =>
        Unwrap(error) is UserInputException or IntegrityException or Fetch.FetchException or IOException or UnauthorizedAccessException;

    /// <summary>The message a user sees for an expected failure.</summary>
    public static string Message(Exception error) => Unwrap(error) switch
    {
        IntegrityException e => $"integrity check failed: {e.Message}",
        var e => e.Message,
    };

    private static Exception Unwrap(Exception error) =>
        error is AggregateException { InnerExceptions.Count: 1 } a ? Unwrap(a.InnerExceptions[0]) : error;
}

/// <summary>
/// A user's mistake: bad site file, lock file, option or state. The message names the thing, the place and
/// the fix; it is printed without a stack trace and maps to <see cref="ExitCodes.UsageError"/>.
/// </summary>
public class UserInputException : Exception
{
    public UserInputException(string message) : base(message) { }

    public UserInputException(IReadOnlyList<Configuration.Diagnostic> diagnostics)
        : base(string.Join(Environment.NewLine, diagnostics.Select(d => d.ToString())))
    {
        Diagnostics = diagnostics;
    }

    public IReadOnlyList<Configuration.Diagnostic> Diagnostics { get; } = [];
}

/// <summary>A checksum or signature did not match: maps to <see cref="ExitCodes.IntegrityError"/>.</summary>
public class IntegrityException(string message) : Exception(message);
