namespace Bundler;

/// <summary>
/// Outputs appear whole or not at all: write to a temporary name in the same folder, flush, then rename.
/// A killed process leaves at most a <c>.tmp-*</c> file, never one that looks finished.
/// </summary>
public static class AtomicFile
{
    public static void WriteAllText(string path, string contents, UnixFileMode? mode = null) =>
        Write(path, stream => { using var w = new StreamWriter(stream, leaveOpen: true); w.Write(contents); }, mode);

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes, UnixFileMode? mode = null)
    {
        var copy = bytes.ToArray();
        Write(path, stream => stream.Write(copy), mode);
    }

    /// <summary>Writes only when the file is missing or holds other text: an unchanged file keeps its mtime.</summary>
    public static void WriteIfChanged(string path, string contents, UnixFileMode? mode = null)
    {
        if (File.Exists(path) && File.ReadAllText(path) == contents)
            return;
        WriteAllText(path, contents, mode);
    }

    public static void Write(string path, Action<Stream> writer, UnixFileMode? mode = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        var temp = TempName(full);
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (mode is not null && !OperatingSystem.IsWindows())
                options.UnixCreateMode = mode.Value;
            using (var stream = new FileStream(temp, options))
            {
                writer(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    public static async Task WriteAsync(string path, Func<Stream, CancellationToken, Task> writer, UnixFileMode? mode = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = TempName(full);
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.Asynchronous };
            if (mode is not null && !OperatingSystem.IsWindows())
                options.UnixCreateMode = mode.Value;
            await using (var stream = new FileStream(temp, options))
            {
                await writer(stream, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>
    /// A hidden temporary name beside the target (a file or a folder), unique to this process and call, recognisable as
    /// unfinished by <see cref="TempPattern"/>: the one naming scheme for everything written, unpacked or built in place.
    /// </summary>
    public static string TempName(string path) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $".{Path.GetFileName(path)}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}");

    /// <summary>Matches every <see cref="TempName"/> in a folder (for <c>Directory.EnumerateFiles</c>): what a killed process left.</summary>
    public const string TempPattern = ".*.tmp-*";
}
