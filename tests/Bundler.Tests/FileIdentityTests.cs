namespace Bundler.Tests;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FileIdentityTests
{
    [Fact]
    public void GivenAFileChangedInPlaceWithItsMtimeSetBack_ThenItsIdentityDiffers()
    {
        using var dir = new TempDir();
        var file = dir.File("bundle.run");
        File.WriteAllBytes(file, new byte[4096]);
        var mtime = File.GetLastWriteTimeUtc(file);
        var before = FileIdentity.Of(file);
        Thread.Sleep(20);

        using (var stream = new FileStream(file, FileMode.Open, FileAccess.Write))
        {
            stream.Position = 100;
            stream.WriteByte(1);
        }
        File.SetLastWriteTimeUtc(file, mtime);
        var after = FileIdentity.Of(file);

        Assert.NotNull(before);
        Assert.Equal(before.Size, after!.Size);
        Assert.Equal(before.ModifiedNs / 100, after.ModifiedNs / 100);
        Assert.Equal(before.Inode, after.Inode);
        Assert.NotEqual(before, after);
        Assert.Equal(after, FileIdentity.Of(file));
    }

    [Fact]
    public void GivenNoFile_ThenThereIsNoIdentity() => Assert.Null(FileIdentity.Of("/nonexistent/kbundle"));
}
