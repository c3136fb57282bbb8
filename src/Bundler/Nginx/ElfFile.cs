using System.Buffers.Binary;
using Bundler.Configuration;

namespace Bundler.Nginx;

/// <summary>
/// Just enough of an ELF header to answer two questions about a built binary without running ldd: which
/// machine it is for, and whether it is static (no PT_INTERP program header = no dynamic loader needed).
/// </summary>
public sealed record ElfFile(ushort Machine, bool HasInterpreter)
{
    private const uint PtInterp = 3;
    private const ushort MachineX86_64 = 0x3E;
    private const ushort MachineAarch64 = 0xB7;

    public bool IsStatic => !HasInterpreter;

    public Arch? Arch => Machine switch
    {
        MachineX86_64 => Configuration.Arch.Amd64,
        MachineAarch64 => Configuration.Arch.Arm64,
        _ => null,
    };

    /// <summary>Reads a 64-bit little-endian ELF file (what amd64 and arm64 Linux use); anything else is refused.</summary>
    public static ElfFile Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 64 || bytes[0] != 0x7F || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F')
            throw new InvalidDataException($"{path}: not an ELF file");
        if (bytes[4] != 2 || bytes[5] != 1)
            throw new InvalidDataException($"{path}: not a 64-bit little-endian ELF file");
        var span = bytes.AsSpan();
        var machine = BinaryPrimitives.ReadUInt16LittleEndian(span[0x12..]);
        var phoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(span[0x20..]);
        var phentsize = BinaryPrimitives.ReadUInt16LittleEndian(span[0x36..]);
        var phnum = BinaryPrimitives.ReadUInt16LittleEndian(span[0x38..]);
        var interp = false;
        for (var i = 0; i < phnum; i++)
        {
            var at = phoff + (long)i * phentsize;
            if (at + 4 > bytes.Length)
                throw new InvalidDataException($"{path}: program header {i} lies outside the file");
            interp |= BinaryPrimitives.ReadUInt32LittleEndian(span[(int)at..]) == PtInterp;
        }
        return new ElfFile(machine, interp);
    }
}
