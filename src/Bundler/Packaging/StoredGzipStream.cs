using System.Buffers.Binary;
using System.IO.Hashing;

namespace Bundler.Packaging;

/// <summary>
/// A gzip member (RFC 1952) whose deflate data is stored blocks only (RFC 1951 BTYPE 00): the bytes pass through
/// uncompressed, in blocks of exactly <see cref="BlockSize"/> (the last one shorter, and final). For data that does not
/// compress (image layers are gzip already), it costs 5 bytes per 64 KiB and no CPU beyond a CRC-32, and gunzip and
/// <c>tar -xzf</c> read it like any member. Written here rather than by zlib at level 0 so that the block boundaries, and
/// so the bytes, depend on nothing but the input: not on zlib's version nor on how the writes were cut.
/// </summary>
internal sealed class StoredGzipStream(Stream inner) : WriteOnlyStream(inner)
{
    public const int BlockSize = 65535;

    // ID1 ID2 CM=deflate FLG=0, MTIME=0 (deterministic, as .NET's GZipStream), XFL=0, OS=3 (Unix).
    private static readonly byte[] GzipHeader = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    private readonly byte[] _block = new byte[5 + BlockSize];
    private readonly Crc32 _crc = new();
    private int _filled;
    private long _total;
    private bool _started;
    private bool _finished;

    /// <summary>Uncompressed bytes written so far.</summary>
    public long Length64 => _total;

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        Start();
        _crc.Append(buffer);
        _total += buffer.Length;
        while (buffer.Length > 0)
        {
            var take = Math.Min(BlockSize - _filled, buffer.Length);
            buffer[..take].CopyTo(_block.AsSpan(5 + _filled));
            _filled += take;
            buffer = buffer[take..];
            if (_filled == BlockSize)
                EmitBlock(final: false);
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    /// <summary>Writes the final block (possibly empty) and the trailer: CRC-32 and the length mod 2^32, little-endian.</summary>
    public void Finish()
    {
        if (_finished)
            return;
        Start();
        EmitBlock(final: true);
        Span<byte> trailer = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, _crc.GetCurrentHashAsUInt32());
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[4..], unchecked((uint)_total));
        Inner.Write(trailer);
        _finished = true;
    }

    private void Start()
    {
        if (_started)
            return;
        Inner.Write(GzipHeader);
        _started = true;
    }

    /// <summary>BFINAL and BTYPE=00 in one byte (the rest of it padding to the byte boundary), LEN and NLEN, then the bytes.</summary>
    private void EmitBlock(bool final)
    {
        _block[0] = final ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt16LittleEndian(_block.AsSpan(1), (ushort)_filled);
        BinaryPrimitives.WriteUInt16LittleEndian(_block.AsSpan(3), (ushort)~_filled);
        Inner.Write(_block, 0, 5 + _filled);
        _filled = 0;
    }
}
