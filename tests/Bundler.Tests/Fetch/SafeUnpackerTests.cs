using System.Formats.Tar;
using System.IO.Compression;
using Bundler.Fetch;
using Xunit;

namespace Bundler.Tests.Fetch;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SafeUnpackerTests : IDisposable
{
    private readonly FetchWorld _world = new();

    public void Dispose() => _world.Dispose();

    private string Archives => Path.Combine(_world.Root, "archives");

    /// <summary>Two folders below out/: an escape of one or two levels lands where the test can see it.</summary>
    private string Destination => Path.Combine(_world.Root, "out", "deep", "er");

    /// <summary>
    /// Hostile archives: each is refused whole, naming the archive and the entry. "bin/tool" (a harmless file) is
    /// what a lock would ask for. A null entry means the row does not fit zip (zip has no hard links).
    /// </summary>
    private static readonly Dictionary<string, (Item[] Items, string Entry, string Why)> Hostile = new()
    {
        ["dot-dot"] = ([Item.File("../x")], "../x", "climbs out of the archive with '..'"),
        ["absolute"] = ([Item.File("/etc/x")], "/etc/x", "has an absolute path"),
        ["escaping-symlink"] = ([Item.Link("bin/link", "../../etc/shadow")], "bin/link", "is a link pointing outside the archive (../../etc/shadow)"),
        ["absolute-symlink"] = ([Item.Link("bin/link", "/etc/shadow")], "bin/link", "is a link pointing outside the archive (/etc/shadow)"),
        ["escaping-hardlink"] = ([Item.HardLink("bin/hard", "../etc/shadow")], "bin/hard", "is a hard link pointing outside the archive (../etc/shadow)"),
        ["char-device"] = ([Item.CharDevice("bin/null")], "bin/null", "is a device file (CharacterDevice)"),
        ["block-device"] = ([Item.BlockDevice("bin/sda")], "bin/sda", "is a device file (BlockDevice)"),
        ["fifo"] = ([Item.Fifo("bin/pipe")], "bin/pipe", "is a FIFO (named pipe)"),
        // #12 item 11: each link stays inside on its own; resolved against what is unpacked, a/b is the parent.
        ["symlink-chain"] = ([Item.Link("a", "."), Item.Link("a/b", ".."), Item.Link("a/b/c", ".."), Item.File("a/b/c/x")],
            "a/b", "is a link pointing outside the archive (..)"),
        // x → y/.. is inside while y does not exist; y → . makes it the parent, and x/escaped would be written there.
        ["write-through-late-link"] = ([Item.Link("x", "y/.."), Item.Link("y", "."), Item.File("x/escaped")],
            "x/escaped", "lies behind links that lead outside the archive"),
        ["late-link"] = ([Item.Link("x", "y/.."), Item.Link("y", ".")],
            "x", "is a link pointing outside the archive (y/..) once later entries are in place"),
        // A hard link through such a link would copy a file from outside (here: the destination's parent) into the tree.
        ["hardlink-through-link"] = ([Item.Link("x", "y/.."), Item.Link("y", "."), Item.HardLink("stolen", "x/secret")],
            "stolen", "is a hard link pointing outside the archive (x/secret)"),
        ["link-loop"] = ([Item.Link("a", "b"), Item.Link("b", "a"), Item.File("a/x")], "a/x", "goes through links that form a loop"),
        ["hardlink-to-folder"] = ([Item.Folder("d"), Item.HardLink("h", "d")], "h", "is a hard link to 'd', which is not a file the archive holds before it"),
        ["file-under-file"] = ([Item.File("f"), Item.File("f/x")], "f/x", "lies under a file of the archive, not a folder"),
        ["link-replaces-folder"] = ([Item.Link("bin", ".")], "bin", "would replace the folder 'bin' the archive made before it"),
    };

    public static TheoryData<string, string, bool> HostileMatrix()
    {
        var data = new TheoryData<string, string, bool>();
        foreach (var format in TestArchives.Formats)
            foreach (var (kind, row) in Hostile.Where(h => format != "zip" || h.Value.Items.All(i => i.FitsZip)))
                foreach (var everything in new[] { false, true })
                    data.Add(format, kind, everything);
        return data;
    }

    public static TheoryData<string> Formats() => new(TestArchives.Formats);

    [ArchiveToolsTheory]
    [MemberData(nameof(HostileMatrix))]
    public async Task GivenAHostileArchiveOfAnyFormat_WhenUnpackingMembersOrEverything_ThenItIsRefusedAndNothingLandsOutside(
        string format, string kind, bool everything)
    {
        var (items, entry, why) = Hostile[kind];
        var archive = await TestArchives.Write(Archives, format, [Item.File("bin/tool", "tool", (UnixFileMode)0b111_101_101), .. items]);
        File.WriteAllText(Path.Combine(_world.Root, "out", "deep", "secret").CreateParent(), "secret");

        var error = Assert.Throws<IntegrityException>(() => SafeUnpacker.Extract(archive, $"evil.{format}", Destination, everything ? null : ["bin/tool"]));

        Assert.StartsWith($"evil.{format}: entry '{entry}' {why}; the archive is refused", error.Message);
        Assert.Equal(["deep/er", "deep/secret"], OutsideDestination());
        Assert.False(File.Exists(Path.Combine(Destination, "stolen")));
    }

    [ArchiveToolsTheory]
    [MemberData(nameof(Formats))]
    public async Task GivenARealArchiveOfAnyFormat_WhenUnpackingNamedMembers_ThenOnlyTheyAreWrittenWithTheirExecBits(string format)
    {
        var archive = await TestArchives.WriteReal(Archives, format);

        var files = SafeUnpacker.Extract(archive, $"ok.{format}", Destination, ["./pkg/bin/tool", "pkg/bin/setuid", "pkg/doc/readme"]);

        Assert.Equal(["./pkg/bin/tool", "pkg/bin/setuid", "pkg/doc/readme"], files.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("tool", File.ReadAllText(files["./pkg/bin/tool"]));
        Assert.Equal(Path.Combine(Destination, "pkg", "bin", "tool"), files["./pkg/bin/tool"]);
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(files["./pkg/bin/tool"]));
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(files["pkg/bin/setuid"]));
        Assert.Equal((UnixFileMode)0b110_100_100, File.GetUnixFileMode(files["pkg/doc/readme"]));
        Assert.Equal(["pkg/bin/setuid", "pkg/bin/tool", "pkg/doc/readme"], Tree(Destination).Where(p => !Directory.Exists(Path.Combine(Destination, p))));
    }

    [ArchiveToolsTheory]
    [MemberData(nameof(Formats))]
    public async Task GivenARealArchiveOfAnyFormat_WhenUnpackingEverything_ThenFilesFoldersAndInsideLinksAreKept(string format)
    {
        var archive = await TestArchives.WriteReal(Archives, format);

        SafeUnpacker.Extract(archive, $"ok.{format}", Destination, members: null);

        Assert.Equal(["pkg", "pkg/bin", "pkg/bin/alias", "pkg/bin/setuid", "pkg/bin/tool", "pkg/bin/tool2", "pkg/doc", "pkg/doc/readme"], Tree(Destination));
        var alias = new FileInfo(Path.Combine(Destination, "pkg", "bin", "alias"));
        Assert.Equal("tool", alias.LinkTarget);
        Assert.Equal("tool", File.ReadAllText(alias.FullName));
        Assert.Equal("tool", File.ReadAllText(Path.Combine(Destination, "pkg", "bin", "tool2")));
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(Path.Combine(Destination, "pkg", "bin", "tool2")));
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(Path.Combine(Destination, "pkg", "bin", "setuid")));
    }

    [ArchiveToolsTheory]
    [MemberData(nameof(Formats))]
    public async Task GivenALockMemberThatIsAFolder_WhenUnpacking_ThenTheErrorNamesArchiveAndMemberAndTheFix(string format)
    {
        var archive = await TestArchives.WriteReal(Archives, format);

        var error = Assert.Throws<UserInputException>(() => SafeUnpacker.Extract(archive, $"ok.{format}", Destination, ["pkg/bin/tool", "pkg/bin/"]));

        Assert.Equal($"ok.{format}: member 'pkg/bin/' is a folder in the archive, not a file; fix files: in the lock (name each file inside it that a node needs)", error.Message);
    }

    [ArchiveToolsTheory]
    [MemberData(nameof(Formats))]
    public async Task GivenAFolderWithNoEntryOfItsOwnNamedAsAMember_WhenUnpacking_ThenItIsNamedAsAFolder(string format)
    {
        var archive = await TestArchives.Write(Archives, format, [Item.File("pkg/bin/tool")]);

        var error = Assert.Throws<UserInputException>(() => SafeUnpacker.Extract(archive, $"ok.{format}", Destination, ["pkg/bin"]));

        Assert.StartsWith($"ok.{format}: member 'pkg/bin' is a folder in the archive, not a file;", error.Message);
    }

    [ArchiveToolsTheory]
    [MemberData(nameof(Formats))]
    public async Task GivenALockMemberThatIsALink_WhenUnpacking_ThenTheErrorNamesTheFileItPointsTo(string format)
    {
        var archive = await TestArchives.WriteReal(Archives, format);

        var error = Assert.Throws<UserInputException>(() => SafeUnpacker.Extract(archive, $"ok.{format}", Destination, ["pkg/bin/alias"]));

        Assert.Equal($"ok.{format}: member 'pkg/bin/alias' is a link to 'tool' in the archive, not a file; fix files: in the lock (name the file it points to, 'pkg/bin/tool')", error.Message);
    }

    [ArchiveToolsFact]
    public async Task GivenALockMemberThatIsAHardLink_WhenItsTargetIsAskedForToo_ThenBothAreWrittenElseTheErrorNamesTheTarget()
    {
        var archive = await TestArchives.WriteReal(Archives, "tar.xz");

        var files = SafeUnpacker.Extract(archive, "ok.tar.xz", Destination, ["pkg/bin/tool", "pkg/bin/tool2"]);
        var error = Assert.Throws<UserInputException>(() => SafeUnpacker.Extract(archive, "ok.tar.xz", Path.Combine(_world.Root, "other"), ["pkg/bin/tool2"]));

        Assert.Equal("tool", File.ReadAllText(files["pkg/bin/tool2"]));
        Assert.Equal("ok.tar.xz: member 'pkg/bin/tool2' is a hard link to 'pkg/bin/tool' in the archive; fix files: in the lock (name 'pkg/bin/tool' instead, or as well)", error.Message);
    }

    [ArchiveToolsTheory]
    [MemberData(nameof(Formats))]
    public async Task GivenALinkToASubfolderAndAFileWrittenThroughIt_WhenUnpacking_ThenTheFileLandsInTheSubfolder(string format)
    {
        // d → sub stays inside, so d/file is allowed: it is sub/file, which is what tar would write too.
        var archive = await TestArchives.Write(Archives, format, [Item.Folder("sub"), Item.Link("d", "sub"), Item.File("d/file", "through")]);

        SafeUnpacker.Extract(archive, $"ok.{format}", Destination, members: null);
        var error = Assert.Throws<UserInputException>(() => SafeUnpacker.Extract(archive, $"ok.{format}", Path.Combine(_world.Root, "other"), ["d/file"]));

        Assert.Equal("through", File.ReadAllText(Path.Combine(Destination, "sub", "file")));
        Assert.Equal("sub", new FileInfo(Path.Combine(Destination, "d")).LinkTarget);
        Assert.Equal($"ok.{format}: member 'd/file' lies behind a link in the archive and is really 'sub/file'; fix files: in the lock (name 'sub/file' instead)", error.Message);
    }

    public static TheoryData<string, string> Damage()
    {
        var data = new TheoryData<string, string>();
        foreach (var format in TestArchives.Formats)
        {
            data.Add(format, "truncated");
            // A plain tar has no checksum over its data (the lock's checksum covers the file); the others do.
            if (format != "tar")
                data.Add(format, "corrupt");
        }
        return data;
    }

    [ArchiveToolsTheory]
    [MemberData(nameof(Damage))]
    public async Task GivenATruncatedOrCorruptArchiveOfAnyFormat_WhenUnpacking_ThenAnIntegrityErrorNamesIt(string format, string damage)
    {
        var archive = await TestArchives.WriteReal(Archives, format, padding: 256 * 1024);
        var bytes = File.ReadAllBytes(archive);
        if (damage == "truncated")
        {
            bytes = bytes[..(bytes.Length / 2)];
        }
        else
        {
            for (var i = bytes.Length / 2; i < bytes.Length / 2 + 16; i++)
                bytes[i] ^= 0x5a;
        }
        File.WriteAllBytes(archive, bytes);

        var members = Assert.Throws<IntegrityException>(() => SafeUnpacker.Extract(archive, $"broken.{format}", Destination, ["pkg/bin/tool"]));
        var everything = Assert.Throws<IntegrityException>(() => SafeUnpacker.Extract(archive, $"broken.{format}", Path.Combine(_world.Root, "other"), null));

        Assert.StartsWith($"broken.{format}: the {format} archive is corrupt or truncated (", members.Message);
        Assert.EndsWith("); it is refused", members.Message);
        Assert.StartsWith($"broken.{format}: the {format} archive is corrupt or truncated (", everything.Message);
    }

    [Fact]
    public void GivenAFileThatIsNoArchive_WhenUnpacking_ThenTheErrorSaysWhichFormatsWorkAndAboutInstall()
    {
        var path = Path.Combine(_world.Root, "runc");
        File.WriteAllBytes(path, [0x7f, (byte)'E', (byte)'L', (byte)'F', .. new byte[600]]);

        var error = Assert.Throws<UserInputException>(() => SafeUnpacker.Extract(path, "runc.amd64", Destination, ["runc"]));

        Assert.Equal("runc.amd64: not an archive kbundle can unpack (its first bytes are none of tar, gzip, xz, zstd, bzip2 or zip); " +
                     "archives may be .tar.gz/.tgz, .tar.xz, .tar.zst, .tar.bz2, .zip or plain .tar, and a single binary takes install: in the lock instead of files:",
                     error.Message);
    }

    [ArchiveToolsTheory]
    [InlineData("tar.gz", "gzip")]
    [InlineData("tar.xz", "xz")]
    [InlineData("tar.zst", "zstd")]
    [InlineData("tar.bz2", "bzip2")]
    public async Task GivenACompressedSingleBinary_WhenUnpacking_ThenTheErrorSaysItHoldsNoTar(string format, string compression)
    {
        var path = Path.Combine(Archives, "helm");
        Directory.CreateDirectory(Archives);
        File.WriteAllBytes(path, [0x7f, (byte)'E', (byte)'L', (byte)'F', .. new byte[2000]]);
        path = await TestArchives.Compress(path, format);

        var error = Assert.Throws<UserInputException>(() => SafeUnpacker.Extract(path, "helm.gz", Destination, ["helm"]));

        Assert.StartsWith($"helm.gz: is {compression}-compressed but holds no tar archive; archives may be", error.Message);
    }

    [ArchiveToolsFact]
    public async Task GivenAZipMadeByTheZipToolWithALinkLeavingTheFolder_WhenUnpacking_ThenItIsRefused()
    {
        var stage = Path.Combine(_world.Root, "stage");
        Directory.CreateDirectory(Path.Combine(stage, "pkg"));
        File.WriteAllText(Path.Combine(stage, "pkg", "tool"), "tool");
        File.CreateSymbolicLink(Path.Combine(stage, "pkg", "etc"), "../../etc");
        var archive = Path.Combine(_world.Root, "evil.zip");
        var zip = await ProcessRunner.RunAsync(ProcessRunner.Find("zip")!, ["-q", "-r", "-y", archive, "pkg"], stage);
        Assert.True(zip.Succeeded, zip.Tail());

        var error = Assert.Throws<IntegrityException>(() => SafeUnpacker.Extract(archive, "evil.zip", Destination, ["pkg/tool"]));

        Assert.Equal("evil.zip: entry 'pkg/etc' is a link pointing outside the archive (../../etc); the archive is refused", error.Message);
    }

    [Fact]
    public async Task GivenAZipEntryWithANULInItsName_WhenUnpacking_ThenItIsRefusedNotACrash()
    {
        // Tar ends a name at the first NUL; zip stores the bytes as they are.
        var archive = await TestArchives.Write(Archives, "zip", [Item.File("bin/tool\0.sh")]);

        var error = Assert.Throws<IntegrityException>(() => SafeUnpacker.Extract(archive, "evil.zip", Destination, null));

        Assert.Equal("evil.zip: entry 'bin/tool\\0.sh' has a NUL byte in its name; the archive is refused", error.Message);
    }

    [Fact]
    public void GivenAMemberTheArchiveLacks_WhenUnpacking_ThenTheErrorNamesItAndHowToFixTheLock()
    {
        var archive = TarGz(new PaxTarEntry(TarEntryType.RegularFile, "bin/tool") { DataStream = new MemoryStream("tool"u8.ToArray()) });

        var error = Assert.Throws<UserInputException>(() => SafeUnpacker.Extract(archive, "ok.tar.gz", Destination, ["bin/tool", "bin/other"]));

        Assert.Equal("ok.tar.gz: no member 'bin/other' in the archive; fix files: in the lock (member paths are as 'tar tf' or 'unzip -l' list them)", error.Message);
    }

    [Fact]
    public void GivenAPaxGlobalHeaderAsGithubSourceTarballsHave_WhenUnpackingEverything_ThenItIsSkipped()
    {
        var archive = TarGz(
            new PaxGlobalExtendedAttributesTarEntry(new Dictionary<string, string> { ["comment"] = "0123abcd" }),
            new PaxTarEntry(TarEntryType.RegularFile, "src/configure") { DataStream = new MemoryStream("#!/bin/sh\n"u8.ToArray()), Mode = (UnixFileMode)0b111_101_101 });

        var files = SafeUnpacker.Extract(archive, "src.tar.gz", Destination, members: null);

        Assert.Equal(["src/configure"], files.Keys);
        Assert.Equal(["src", "src/configure"], Tree(Destination));
    }

    [Fact]
    public void GivenADestinationThatIsNotEmpty_WhenUnpacking_ThenItIsABugNotASilentMerge()
    {
        var archive = TarGz(new PaxTarEntry(TarEntryType.RegularFile, "bin/tool") { DataStream = new MemoryStream("tool"u8.ToArray()) });
        Directory.CreateDirectory(Destination);
        File.CreateSymbolicLink(Path.Combine(Destination, "bin"), "/etc");

        Assert.Throws<ArgumentException>(() => SafeUnpacker.Extract(archive, "ok.tar.gz", Destination, null));
    }

    private string TarGz(params TarEntry[] entries)
    {
        Directory.CreateDirectory(Archives);
        var path = Path.Combine(Archives, $"a-{Guid.NewGuid():N}");
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax);
        foreach (var entry in entries)
            tar.WriteEntry(entry);
        return path;
    }

    /// <summary>Every path under <paramref name="folder"/>, relative and sorted; links are listed, never followed.</summary>
    private static List<string> Tree(string folder)
    {
        var found = new List<string>();
        void Walk(string dir)
        {
            foreach (var path in Directory.EnumerateFileSystemEntries(dir, "*", new EnumerationOptions { AttributesToSkip = 0 }))
            {
                found.Add(Path.GetRelativePath(folder, path));
                if (new FileInfo(path).LinkTarget is null && Directory.Exists(path))
                    Walk(path);
            }
        }
        Walk(folder);
        return found.Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>What exists under out/ apart from the destination's own contents.</summary>
    private List<string> OutsideDestination()
    {
        var outside = Path.Combine(_world.Root, "out");
        return Tree(outside).Where(p => p != "deep" && !p.StartsWith("deep/er/", StringComparison.Ordinal)).ToList();
    }
}

internal static class PathExtensions
{
    /// <summary>Creates the folder of <paramref name="path"/> and returns the path.</summary>
    public static string CreateParent(this string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }
}
