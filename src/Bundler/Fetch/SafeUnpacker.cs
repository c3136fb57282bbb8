using System.Formats.Tar;
using System.IO.Compression;

namespace Bundler.Fetch;

/// <summary>
/// Unpacks tar and tar.gz archives without trusting them: every entry is checked before anything is
/// written — absolute paths, <c>..</c>, links pointing outside the archive and device files are refused
/// with an error naming the archive and the entry — and only the members asked for are taken.
/// Exec bits are kept; setuid, setgid and sticky bits are dropped.
/// </summary>
public static class SafeUnpacker
{
    private const UnixFileMode PermissionBits = (UnixFileMode)0b111_111_111;

    /// <summary>
    /// Extracts <paramref name="members"/> (archive paths, a leading "./" is ignored), or every entry when null,
    /// into <paramref name="destination"/>. Returns member -> extracted file.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Extract(string archivePath, string archiveName, string destination, IReadOnlyCollection<string>? members)
    {
        ArgumentNullException.ThrowIfNull(archivePath);
        ArgumentNullException.ThrowIfNull(destination);
        var wanted = members?.ToDictionary(Normalize, m => m, StringComparer.Ordinal);
        var extracted = new Dictionary<string, string>(StringComparer.Ordinal);
        Directory.CreateDirectory(destination);
        var root = Path.GetFullPath(destination);

        using (var archive = OpenTar(archivePath))
        using (var reader = new TarReader(archive))
        {
            while (reader.GetNextEntry() is { } entry)
            {
                var name = Check(entry, archiveName);
                if (name.Length == 0)
                    continue;
                var take = wanted is null || wanted.ContainsKey(name);
                if (!take)
                    continue;
                var target = Path.Combine(root, name);
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        Directory.CreateDirectory(target);
                        break;
                    case TarEntryType.SymbolicLink when wanted is null:
                        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                        File.Delete(target);
                        File.CreateSymbolicLink(target, entry.LinkName);
                        break;
                    case TarEntryType.HardLink when wanted is null:
                        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                        File.Copy(Path.Combine(root, Normalize(entry.LinkName)), target, overwrite: true);
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        WriteFile(entry, target);
                        break;
                    default:
                        if (wanted is not null)
                            throw new IntegrityException($"{archiveName}: entry '{entry.Name}' is a {entry.EntryType}, not a regular file; the lock names it as a binary");
                        continue;
                }
                extracted[wanted?[name] ?? name] = target;
            }
        }

        var missing = wanted?.Values.Where(m => !extracted.ContainsKey(m)).ToList() ?? [];
        if (missing.Count > 0)
            throw new UserInputException($"{archiveName}: no member {string.Join(", ", missing.Select(m => $"'{m}'"))} in the archive; " +
                                         "fix files: in the lock (member paths are as 'tar tzf' lists them)");
        return extracted;
    }

    /// <summary>Refuses a dangerous entry; returns its normalized relative path ("" for the root itself).</summary>
    private static string Check(TarEntry entry, string archiveName)
    {
        var raw = entry.Name;
        if (raw.StartsWith('/') || raw.StartsWith('\\'))
            throw Refused(archiveName, raw, "has an absolute path");
        var name = Normalize(raw);
        if (name.Split('/').Contains(".."))
            throw Refused(archiveName, raw, "climbs out of the archive with '..'");
        switch (entry.EntryType)
        {
            case TarEntryType.CharacterDevice or TarEntryType.BlockDevice or TarEntryType.Fifo:
                throw Refused(archiveName, raw, $"is a device file ({entry.EntryType})");
            case TarEntryType.SymbolicLink:
                if (entry.LinkName.StartsWith('/') || Escapes(ParentOf(name), entry.LinkName))
                    throw Refused(archiveName, raw, $"is a link pointing outside the archive ({entry.LinkName})");
                break;
            case TarEntryType.HardLink:
                if (entry.LinkName.StartsWith('/') || Escapes("", entry.LinkName))
                    throw Refused(archiveName, raw, $"is a hard link pointing outside the archive ({entry.LinkName})");
                break;
        }
        return name;
    }

    private static IntegrityException Refused(string archiveName, string entry, string why) =>
        new($"{archiveName}: entry '{entry}' {why}; the archive is refused");

    /// <summary>True when <paramref name="link"/>, resolved from folder <paramref name="from"/>, leaves the root.</summary>
    private static bool Escapes(string from, string link)
    {
        var depth = from.Length == 0 ? 0 : from.Split('/').Length;
        foreach (var part in link.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
                continue;
            depth += part == ".." ? -1 : 1;
            if (depth < 0)
                return true;
        }
        return false;
    }

    private static string ParentOf(string name)
    {
        var slash = name.LastIndexOf('/');
        return slash < 0 ? "" : name[..slash];
    }

    /// <summary>"./a//b/" -> "a/b": the form the lock and the archive are compared in.</summary>
    public static string Normalize(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var parts = name.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".");
        return string.Join('/', parts);
    }

    private static void WriteFile(TarEntry entry, string target)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        // Keep the exec bits upstream set; the owner can always read and write what we unpacked.
        var mode = (entry.Mode & PermissionBits) | UnixFileMode.UserRead | UnixFileMode.UserWrite;
        File.Delete(target);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = mode;
        using var output = new FileStream(target, options);
        entry.DataStream?.CopyTo(output);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(target, mode);
    }

    /// <summary>gzip when the file starts with the gzip magic bytes, plain tar otherwise.</summary>
    private static Stream OpenTar(string path)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var magic = new byte[2];
        var read = file.Read(magic);
        file.Position = 0;
        return read == 2 && magic[0] == 0x1f && magic[1] == 0x8b ? new GZipStream(file, CompressionMode.Decompress) : file;
    }
}
