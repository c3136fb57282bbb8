using System.Formats.Tar;
using System.IO.Compression;

namespace Bundler.Tests.Fetch;

/// <summary>Runs only where the real archive tools are (always under CI=true, where a missing tool fails the test).</summary>
public sealed class ArchiveToolsTheoryAttribute : TheoryAttribute
{
    public ArchiveToolsTheoryAttribute()
    {
        if (TestArchives.MissingTools() is { Length: > 0 } missing && Environment.GetEnvironmentVariable("CI") != "true")
            Skip = $"SKIPPED: building the test archives needs {missing} on PATH; apt-get install tar gzip xz-utils zstd bzip2 zip (.ci/run does)";
    }
}

/// <inheritdoc cref="ArchiveToolsTheoryAttribute"/>
public sealed class ArchiveToolsFactAttribute : FactAttribute
{
    public ArchiveToolsFactAttribute()
    {
        if (TestArchives.MissingTools() is { Length: > 0 } missing && Environment.GetEnvironmentVariable("CI") != "true")
            Skip = $"SKIPPED: building the test archives needs {missing} on PATH; apt-get install tar gzip xz-utils zstd bzip2 zip (.ci/run does)";
    }
}

/// <summary>One entry of a test archive, written the same way into a tar (any compression) or a zip.</summary>
public sealed record Item(string Kind, string Name, string Target = "", string Data = "", UnixFileMode Mode = (UnixFileMode)0b110_100_100)
{
    public static Item File(string name, string data = "x", UnixFileMode mode = (UnixFileMode)0b110_100_100) => new("file", name, Data: data, Mode: mode);
    public static Item Folder(string name) => new("folder", name, Mode: (UnixFileMode)0b111_101_101);
    public static Item Link(string name, string target) => new("symlink", name, target, Mode: (UnixFileMode)0b111_111_111);
    public static Item HardLink(string name, string target) => new("hardlink", name, target);
    public static Item CharDevice(string name) => new("chardev", name);
    public static Item BlockDevice(string name) => new("blockdev", name);
    public static Item Fifo(string name) => new("fifo", name);

    /// <summary>Zip has no hard links.</summary>
    public bool FitsZip => Kind != "hardlink";
}

/// <summary>
/// Builds test archives of every format a lock may use. Hostile entries are written with System.Formats.Tar
/// (tar) or System.IO.Compression (zip, the unix mode in the external attributes), since no real tool writes
/// them; compression is done by the real tools (gzip, xz, zstd, bzip2), and well-formed archives come from
/// the real tar and zip. Files carry no extension: the unpacker must tell the format from the bytes.
/// </summary>
public static class TestArchives
{
    public static readonly string[] Formats = ["tar", "tar.gz", "tar.xz", "tar.zst", "tar.bz2", "zip"];

    private static readonly string[] Tools = ["tar", "gzip", "xz", "zstd", "bzip2", "zip"];

    public static string MissingTools() => string.Join(", ", Tools.Where(t => ProcessRunner.Find(t) is null));

    /// <summary>An archive of <paramref name="format"/> holding exactly <paramref name="items"/>, in order.</summary>
    public static async Task<string> Write(string folder, string format, IEnumerable<Item> items)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, $"archive-{Guid.NewGuid():N}");
        if (format == "zip")
        {
            WriteZip(path, items);
            return path;
        }
        using (var file = System.IO.File.Create(path))
        using (var tar = new TarWriter(file, TarEntryFormat.Pax))
        {
            foreach (var item in items)
                tar.WriteEntry(TarEntry(item));
        }
        return await Compress(path, format);
    }

    /// <summary>
    /// A well-formed archive made by the real tools from a staged tree: pkg/bin/tool (0755), pkg/bin/setuid
    /// (04755), pkg/doc/readme (0644), the symlink pkg/bin/alias → tool and pkg/bin/tool2, a hard link of
    /// pkg/bin/tool (tar keeps it as a link, zip as a second copy). <paramref name="padding"/> adds a
    /// pseudo-random file of that many bytes (pkg/data), so corrupting the middle hits compressed data.
    /// </summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public static async Task<string> WriteReal(string folder, string format, int padding = 0)
    {
        var stage = Path.Combine(folder, $"stage-{Guid.NewGuid():N}");
        var pkg = Path.Combine(stage, "pkg");
        Directory.CreateDirectory(Path.Combine(pkg, "bin"));
        Directory.CreateDirectory(Path.Combine(pkg, "doc"));
        WriteFile(Path.Combine(pkg, "bin", "tool"), "tool", (UnixFileMode)0b111_101_101);
        WriteFile(Path.Combine(pkg, "bin", "setuid"), "setuid", (UnixFileMode)0b100_111_101_101);
        WriteFile(Path.Combine(pkg, "doc", "readme"), "readme", (UnixFileMode)0b110_100_100);
        System.IO.File.CreateSymbolicLink(Path.Combine(pkg, "bin", "alias"), "tool");
        await Run("ln", [Path.Combine(pkg, "bin", "tool"), Path.Combine(pkg, "bin", "tool2")], stage);
        if (padding > 0)
        {
            var bytes = new byte[padding];
            new Random(15).NextBytes(bytes);
            System.IO.File.WriteAllBytes(Path.Combine(pkg, "data"), bytes);
        }

        var path = Path.Combine(folder, $"archive-{Guid.NewGuid():N}");
        if (format == "zip")
        {
            // -y stores the symlink as a link (mode 0120777 in the external attributes), not as the file it points to.
            await Run("zip", ["-q", "-r", "-y", path, "pkg"], stage);
            System.IO.File.Move(path + ".zip", path);
        }
        else
        {
            // Sorted, so the hard link is always tool2 → tool (tar stores the second name it meets as the link).
            await Run("tar", ["--sort=name", "-cf", path, "pkg"], stage);
            path = await Compress(path, format);
        }
        Directory.Delete(stage, recursive: true);
        return path;
    }

    /// <summary>Compresses <paramref name="tarPath"/> in place with the real tool of <paramref name="format"/>.</summary>
    public static async Task<string> Compress(string tarPath, string format)
    {
        var (tool, arguments, suffix) = format switch
        {
            "tar" => ("", Array.Empty<string>(), ""),
            "tar.gz" => ("gzip", ["-n", "-f", tarPath], ".gz"),
            "tar.xz" => ("xz", ["-T1", "-f", tarPath], ".xz"),
            "tar.zst" => ("zstd", ["-q", "-f", "--rm", tarPath, "-o", tarPath + ".zst"], ".zst"),
            "tar.bz2" => ("bzip2", ["-f", tarPath], ".bz2"),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
        };
        if (tool.Length == 0)
            return tarPath;
        await Run(tool, arguments, Path.GetDirectoryName(tarPath)!);
        System.IO.File.Move(tarPath + suffix, tarPath);
        return tarPath;
    }

    private static async Task Run(string tool, string[] arguments, string workingDirectory)
    {
        var path = ProcessRunner.Find(tool);
        Assert.True(path is not null, $"{tool} is not on PATH; .ci/run installs it");
        var result = await ProcessRunner.RunAsync(path, arguments, workingDirectory);
        Assert.True(result.Succeeded, $"{result.Command} failed: {result.Tail()}");
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static void WriteFile(string path, string text, UnixFileMode mode)
    {
        System.IO.File.WriteAllText(path, text);
        System.IO.File.SetUnixFileMode(path, mode);
    }

    private static PaxTarEntry TarEntry(Item item) => item.Kind switch
    {
        "file" => new(TarEntryType.RegularFile, item.Name) { DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(item.Data)), Mode = item.Mode },
        "folder" => new(TarEntryType.Directory, item.Name) { Mode = item.Mode },
        "symlink" => new(TarEntryType.SymbolicLink, item.Name) { LinkName = item.Target, Mode = item.Mode },
        "hardlink" => new(TarEntryType.HardLink, item.Name) { LinkName = item.Target, Mode = item.Mode },
        "chardev" => new(TarEntryType.CharacterDevice, item.Name) { DeviceMajor = 1, DeviceMinor = 3 },
        "blockdev" => new(TarEntryType.BlockDevice, item.Name) { DeviceMajor = 8, DeviceMinor = 0 },
        "fifo" => new(TarEntryType.Fifo, item.Name),
        _ => throw new ArgumentOutOfRangeException(nameof(item), item.Kind, null),
    };

    private static void WriteZip(string path, IEnumerable<Item> items)
    {
        using var zip = new ZipArchive(System.IO.File.Create(path), ZipArchiveMode.Create);
        foreach (var item in items)
        {
            // st_mode: file type in the top 4 bits, then the permission bits; Info-ZIP keeps it in the high 16 bits.
            var (type, data) = item.Kind switch
            {
                "file" => (0x8000, item.Data),
                "folder" => (0x4000, ""),
                "symlink" => (0xa000, item.Target),
                "chardev" => (0x2000, ""),
                "blockdev" => (0x6000, ""),
                "fifo" => (0x1000, ""),
                _ => throw new ArgumentOutOfRangeException(nameof(items), item.Kind, "zip has no such entry"),
            };
            var entry = zip.CreateEntry(item.Kind == "folder" ? item.Name.TrimEnd('/') + "/" : item.Name, CompressionLevel.Fastest);
            entry.ExternalAttributes = (type | (int)item.Mode) << 16;
            using var stream = entry.Open();
            stream.Write(System.Text.Encoding.UTF8.GetBytes(data));
        }
    }
}
