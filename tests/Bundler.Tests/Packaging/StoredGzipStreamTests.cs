using System.Formats.Tar;
using System.IO.Compression;
using Bundler.Packaging;

namespace Bundler.Tests.Packaging;

/// <summary>The gzip member of stored blocks that carries an image archive: what gzip and tar read back, byte for byte.</summary>
public sealed class StoredGzipStreamTests
{
    public const int Block = StoredGzipStream.BlockSize;

    private static byte[] Random(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Writes <paramref name="data"/> in pieces of <paramref name="piece"/> bytes and returns the member.</summary>
    private static byte[] Member(byte[] data, int piece)
    {
        using var output = new MemoryStream();
        var gzip = new StoredGzipStream(output);
        for (var i = 0; i < data.Length; i += piece)
            gzip.Write(data, i, Math.Min(piece, data.Length - i));
        gzip.Finish();
        return output.ToArray();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Block - 1)]
    [InlineData(Block)]
    [InlineData(Block + 1)]
    [InlineData(3 * Block + 17)]
    public void GivenBytesOfAnySize_WhenWrittenAsStoredBlocks_ThenGunzipGivesThemBackAndTheSizeIsFiveBytesPerBlock(int size)
    {
        var data = Random(size, size);

        var member = Member(data, 4096);

        using var gunzip = new GZipStream(new MemoryStream(member), CompressionMode.Decompress);
        using var back = new MemoryStream();
        gunzip.CopyTo(back);
        Assert.Equal(data, back.ToArray());
        // Header 10, trailer 8, and 5 per block: full blocks, then the final one (empty when the size is a multiple).
        Assert.Equal(10 + 8 + size + 5 * (size / Block + 1), member.Length);
    }

    [ToolFact("gzip")]
    public void GivenAMember_WhenGnuGzipDecompressesIt_ThenItChecksTheCrcAndLengthAndGivesTheBytesBack()
    {
        var data = Random(2 * Block + 99, 7);
        using var dir = new TempDir("kbundle-stored");
        var file = dir.File("member.gz");
        File.WriteAllBytes(file, Member(data, 1000));

        var test = BundleFixture.Run("gzip", ["-t", file]);
        var unpacked = BundleFixture.Run("sh", ["-c", $"gzip -dc '{file}' | sha256sum"]);

        Assert.True(test.Code == 0, test.Err);
        Assert.Equal(BundleFixture.Sha256(data), unpacked.Out.Split(' ')[0]);
    }

    [Fact]
    public void GivenTheSameBytesWrittenInDifferentPieces_ThenTheMembersAreByteIdentical()
    {
        var data = Random(2 * Block + 5, 3);

        Assert.Equal(Member(data, 1), Member(data, 4096));
        Assert.Equal(Member(data, 4096), Member(data, data.Length));
    }

    [Fact]
    public void GivenAFileEntry_WhenItsUstarHeaderIsWrittenByHand_ThenItIsTheHeaderTarWriterWritesForTheOtherMembers()
    {
        var mtime = DateTimeOffset.FromUnixTimeSeconds(BundleFixture.Epoch);
        var content = new byte[1234];
        using var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Ustar, leaveOpen: true))
            writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "opt/k8s/images/images-amd64.tar")
            {
                ModificationTime = mtime, Mode = (UnixFileMode)0b110_100_100, Uid = 0, Gid = 0, UserName = "root", GroupName = "root",
                DataStream = new MemoryStream(content),
            });

        var header = PayloadWriter.UstarHeader("opt/k8s/images/images-amd64.tar", (UnixFileMode)0b110_100_100, content.Length, mtime);

        Assert.Equal(tar.ToArray()[..512], header);
    }

    [Fact]
    public async Task GivenAStoredMemberWithATarEntry_WhenReadAsATarGz_ThenTheEntryHoldsExactlyTheContent()
    {
        var content = Random(Block + 700, 11);
        using var payload = new MemoryStream();

        var sha = await PayloadWriter.WriteStoredMemberAsync(payload, "opt/k8s/images/images-amd64.tar", (UnixFileMode)0b110_100_100, content.Length,
            DateTimeOffset.FromUnixTimeSeconds(BundleFixture.Epoch), (stream, ct) => stream.WriteAsync(content, ct).AsTask());
        payload.Write(PayloadWriter.EndMember());

        Assert.Equal(BundleFixture.Sha256(content), sha);
        payload.Position = 0;
        using var gzip = new GZipStream(payload, CompressionMode.Decompress);
        using var reader = new TarReader(gzip);
        var entry = reader.GetNextEntry()!;
        using var back = new MemoryStream();
        entry.DataStream!.CopyTo(back);
        Assert.Equal("opt/k8s/images/images-amd64.tar", entry.Name);
        Assert.Equal(content, back.ToArray());
        Assert.Null(reader.GetNextEntry());
    }
}
