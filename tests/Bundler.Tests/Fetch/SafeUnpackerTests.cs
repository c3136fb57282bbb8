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

    /// <summary>Each row is a hostile entry beside a harmless "bin/tool": the whole archive is refused.</summary>
    public static TheoryData<string, string> HostileEntries => new()
    {
        { "dot-dot", "climbs out of the archive with '..'" },
        { "absolute", "has an absolute path" },
        { "escaping-symlink", "is a link pointing outside the archive (../../etc/shadow)" },
        { "absolute-symlink", "is a link pointing outside the archive (/etc/shadow)" },
        { "escaping-hardlink", "is a hard link pointing outside the archive" },
        { "char-device", "is a device file (CharacterDevice)" },
        { "block-device", "is a device file (BlockDevice)" },
    };

    private static TarEntry Hostile(string kind) => kind switch
    {
        "dot-dot" => new PaxTarEntry(TarEntryType.RegularFile, "../x") { DataStream = new MemoryStream([1]) },
        "absolute" => new PaxTarEntry(TarEntryType.RegularFile, "/etc/x") { DataStream = new MemoryStream([1]) },
        "escaping-symlink" => new PaxTarEntry(TarEntryType.SymbolicLink, "bin/link") { LinkName = "../../etc/shadow" },
        "absolute-symlink" => new PaxTarEntry(TarEntryType.SymbolicLink, "bin/link") { LinkName = "/etc/shadow" },
        "escaping-hardlink" => new PaxTarEntry(TarEntryType.HardLink, "bin/hard") { LinkName = "../etc/shadow" },
        "char-device" => new PaxTarEntry(TarEntryType.CharacterDevice, "bin/null") { DeviceMajor = 1, DeviceMinor = 3 },
        "block-device" => new PaxTarEntry(TarEntryType.BlockDevice, "bin/sda") { DeviceMajor = 8, DeviceMinor = 0 },
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private string Archive(params TarEntry[] entries)
    {
        var path = Path.Combine(_world.Root, $"a-{Guid.NewGuid():N}.tar.gz");
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax);
        foreach (var entry in entries)
            tar.WriteEntry(entry);
        return path;
    }

    private static PaxTarEntry Tool() =>
        new(TarEntryType.RegularFile, "bin/tool") { DataStream = new MemoryStream("tool"u8.ToArray()), Mode = (UnixFileMode)0b111_101_101 };

    [Theory]
    [MemberData(nameof(HostileEntries))]
    public void Given_an_archive_with_a_hostile_entry_When_unpacking_Then_it_is_refused_naming_archive_and_entry(string kind, string why)
    {
        var hostile = Hostile(kind);
        var archive = Archive(Tool(), hostile);
        var destination = Path.Combine(_world.Root, "out", "deep");

        var error = Assert.Throws<IntegrityException>(() => SafeUnpacker.Extract(archive, "evil.tar.gz", destination, ["bin/tool"]));

        Assert.StartsWith($"evil.tar.gz: entry '{hostile.Name}' ", error.Message);
        Assert.Contains(why, error.Message);
        Assert.False(File.Exists(Path.Combine(_world.Root, "out", "x")));
        Assert.False(File.Exists(Path.Combine(destination, "bin", "link")));
    }

    [Fact]
    public void Given_named_members_When_unpacking_Then_only_they_are_written_with_their_exec_bits()
    {
        var archive = Archive(
            Tool(),
            new PaxTarEntry(TarEntryType.RegularFile, "./doc/readme") { DataStream = new MemoryStream("r"u8.ToArray()), Mode = (UnixFileMode)0b110_100_100 },
            new PaxTarEntry(TarEntryType.RegularFile, "./bin/setuid") { DataStream = new MemoryStream("s"u8.ToArray()), Mode = (UnixFileMode)0b100_111_101_101 });
        var destination = Path.Combine(_world.Root, "out");

        var files = SafeUnpacker.Extract(archive, "ok.tar.gz", destination, ["bin/tool", "bin/setuid"]);

        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(files["bin/tool"]));
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(files["bin/setuid"]));
        Assert.False(File.Exists(Path.Combine(destination, "doc", "readme")));
    }

    [Fact]
    public void Given_a_member_the_archive_lacks_When_unpacking_Then_the_error_names_it_and_how_to_fix_the_lock()
    {
        var archive = Archive(Tool());

        var error = Assert.Throws<UserInputException>(() => SafeUnpacker.Extract(archive, "ok.tar.gz", Path.Combine(_world.Root, "out"), ["bin/tool", "bin/other"]));

        Assert.Contains("ok.tar.gz: no member 'bin/other'", error.Message);
        Assert.Contains("fix files: in the lock", error.Message);
    }

    [Fact]
    public void Given_a_link_that_stays_inside_When_unpacking_everything_Then_it_is_kept()
    {
        var archive = Archive(Tool(), new PaxTarEntry(TarEntryType.SymbolicLink, "bin/alias") { LinkName = "tool" });
        var destination = Path.Combine(_world.Root, "out");

        SafeUnpacker.Extract(archive, "ok.tar.gz", destination, members: null);

        Assert.Equal("tool", File.ReadAllText(Path.Combine(destination, "bin", "alias")));
    }
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Given_a_symlink_chain_that_leaves_only_once_resolved_When_unpacking_Then_it_is_refused_and_nothing_lands_outside(bool everything)
    {
        // Each link looks inside on its own; resolved against what is already unpacked, a/b is the destination's parent.
        var archive = Archive(
            Tool(),
            new PaxTarEntry(TarEntryType.SymbolicLink, "a") { LinkName = "." },
            new PaxTarEntry(TarEntryType.SymbolicLink, "a/b") { LinkName = ".." },
            new PaxTarEntry(TarEntryType.SymbolicLink, "a/b/c") { LinkName = ".." },
            new PaxTarEntry(TarEntryType.RegularFile, "a/b/c/x") { DataStream = new MemoryStream([1]) });
        var destination = Path.Combine(_world.Root, "out", "deep", "er");

        var error = Assert.Throws<IntegrityException>(() => SafeUnpacker.Extract(archive, "evil.tar.gz", destination, everything ? null : ["bin/tool"]));

        Assert.StartsWith("evil.tar.gz: entry 'a/b' is a link pointing outside the archive (..)", error.Message);
        Assert.False(File.Exists(Path.Combine(_world.Root, "out", "x")));
    }
}
