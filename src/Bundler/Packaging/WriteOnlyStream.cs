namespace Bundler.Packaging;

/// <summary>The plumbing of a forward-only stream that passes writes to <paramref name="inner"/>.</summary>
internal abstract class WriteOnlyStream(Stream inner) : Stream
{
    protected Stream Inner => inner;
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => inner.Flush();
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
