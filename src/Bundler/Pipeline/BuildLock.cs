using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace Bundler.Pipeline;

/// <summary>
/// One build at a time per state folder and per output folder (issue 12 item 5): an exclusive lock on
/// <c>&lt;folder&gt;/.kbundle.lock</c> (flock on Linux, held by the open file, so a killed build leaves no stale lock);
/// beside it <c>.kbundle.lock.holder</c> names the holder (pid, host, start time: a locked file cannot be read here). A
/// second build does not wait: it exits 2 naming the holder. Both files are removed while the lock is still held, when
/// the build ends.
/// </summary>
public sealed class BuildLock : IDisposable
{
    public const string FileName = ".kbundle.lock";
    public const string HolderFile = FileName + ".holder";

    private readonly FileStream _stream;
    private readonly string _path;

    private BuildLock(FileStream stream, string path)
    {
        _stream = stream;
        _path = path;
    }

    /// <summary>Takes the lock of <paramref name="folder"/> (creating the folder), or throws <see cref="UserInputException"/> naming the holder.</summary>
    /// <param name="what">What the folder is, for messages ("state folder").</param>
    public static BuildLock Acquire(string folder, string what, UnixFileMode? folderMode = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
        {
            if (folderMode is { } mode && !OperatingSystem.IsWindows())
                Directory.CreateDirectory(folder, mode);
            else
                Directory.CreateDirectory(folder);
        }
        var path = Path.Combine(folder, FileName);
        for (var attempt = 0; ; attempt++)
        {
            FileStream stream;
            try
            {
                // FileShare.None is an exclusive, non-blocking flock on Unix.
                stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e) when (HeldByAnother(e))
            {
                throw new UserInputException($"{folder} is in use by another build ({Holder(path)}); the {what} takes one build at a time: " +
                                             "wait for that one to end, then build again");
            }
            // The holder before us may have removed the file between our open and our lock: then we hold a file nobody
            // else will ever open. Only a lock on the file the path still names counts.
            if (OperatingSystem.IsLinux() && FileIdentity.Of(stream.SafeFileHandle) is { } held && FileIdentity.Of(path) is var named
                && (named is null || named.Device != held.Device || named.Inode != held.Inode))
            {
                stream.Dispose();
                if (attempt < 10)
                    continue;
                throw new IOException($"{path}: could not take the build lock (the file keeps changing)");
            }
            var holder = new BuildLock(stream, path);
            try
            {
                AtomicFile.WriteAllText(path + ".holder", string.Create(CultureInfo.InvariantCulture,
                    $"pid {Environment.ProcessId} on host {Environment.MachineName}, started {DateTimeOffset.UtcNow:yyyy-MM-dd'T'HH:mm:ss'Z'}\n"));
            }
            catch
            {
                holder.Dispose();
                throw;
            }
            return holder;
        }
    }

    /// <summary>The lock is taken: EWOULDBLOCK from flock (Linux 11, macOS 35), or Windows' sharing violation.</summary>
    private static bool HeldByAnother(IOException e) => e.HResult is 11 or 35 or unchecked((int)0x80070020);

    private static string Holder(string path)
    {
        try
        {
            var text = File.ReadLines(path + ".holder").FirstOrDefault()?.Trim();
            return string.IsNullOrEmpty(text) ? "it has not said who it is yet" : text;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "it has not said who it is yet";
        }
    }

    /// <summary>Removes the lock file while still holding it (so no one locks a file about to vanish), then lets go.</summary>
    public void Dispose()
    {
        try
        {
            File.Delete(_path + ".holder");
            if (!OperatingSystem.IsWindows())
                File.Delete(_path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A lock file that stays costs nothing: the next build takes it.
        }
        _stream.Dispose();
    }
}
