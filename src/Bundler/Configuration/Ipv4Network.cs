using System.Net;
using System.Net.Sockets;

namespace Bundler.Configuration;

/// <summary>An IPv4 network in CIDR form, e.g. <c>10.254.0.0/16</c>. The address is kept masked.</summary>
public readonly record struct Ipv4Network
{
    private Ipv4Network(uint network, int prefix)
    {
        Network = network;
        Prefix = prefix;
    }

    public uint Network { get; }
    public int Prefix { get; }
    public ulong Size => 1UL << (32 - Prefix);
    public uint Mask => Prefix == 0 ? 0u : uint.MaxValue << (32 - Prefix);
    public uint Last => Network | ~Mask;

    /// <summary>Parses <c>a.b.c.d/n</c>. Host bits set (10.0.0.1/8) are refused: they usually mean a typo.</summary>
    public static bool TryParse(string? text, out Ipv4Network network, out string? error)
    {
        network = default;
        error = null;
        var parts = (text ?? "").Split('/');
        if (parts.Length != 2 || !Ipv4.TryParse(parts[0], out var address) ||
            !int.TryParse(parts[1], System.Globalization.NumberStyles.None, null, out var prefix) || prefix > 32)
        {
            error = $"'{text}' is not an IPv4 CIDR";
            return false;
        }
        var candidate = new Ipv4Network(Ipv4.ToUInt32(address), prefix);
        if ((candidate.Network & ~candidate.Mask) != 0)
        {
            error = $"'{text}' has host bits set (the network is {Ipv4.FromUInt32(candidate.Network & candidate.Mask)}/{prefix})";
            return false;
        }
        network = candidate;
        return true;
    }

    public static Ipv4Network Parse(string text) =>
        TryParse(text, out var n, out var error) ? n : throw new FormatException(error);

    public bool Contains(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetwork && (Ipv4.ToUInt32(address) & Mask) == Network;

    public bool Overlaps(Ipv4Network other)
    {
        var mask = Prefix < other.Prefix ? Mask : other.Mask;
        return (Network & mask) == (other.Network & mask);
    }

    /// <summary>The n-th address of the network (0 = the network address itself).</summary>
    public IPAddress AddressAt(ulong n) =>
        n < Size ? Ipv4.FromUInt32(Network + (uint)n) : throw new ArgumentOutOfRangeException(nameof(n));

    /// <summary>The index-th subnet of the given prefix length inside this network.</summary>
    public Ipv4Network Subnet(int prefix, int index)
    {
        if (prefix < Prefix || prefix > 32)
            throw new ArgumentOutOfRangeException(nameof(prefix));
        var count = 1UL << (prefix - Prefix);
        if (index < 0 || (ulong)index >= count)
            throw new ArgumentOutOfRangeException(nameof(index));
        return new Ipv4Network(Network + (uint)((ulong)index << (32 - prefix)), prefix);
    }

    public override string ToString() => $"{Ipv4.FromUInt32(Network)}/{Prefix}";
}

/// <summary>Strict dotted-quad IPv4 parsing (IPAddress.TryParse also accepts "10.1" and hex forms).</summary>
public static class Ipv4
{
    public static bool TryParse(string? text, out IPAddress address)
    {
        address = IPAddress.None;
        var parts = (text ?? "").Split('.');
        if (parts.Length != 4)
            return false;
        var bytes = new byte[4];
        for (var i = 0; i < 4; i++)
        {
            var p = parts[i];
            if (p.Length is 0 or > 3 || (p.Length > 1 && p[0] == '0') || !p.All(char.IsAsciiDigit))
                return false;
            var value = int.Parse(p, System.Globalization.CultureInfo.InvariantCulture);
            if (value > 255)
                return false;
            bytes[i] = (byte)value;
        }
        address = new IPAddress(bytes);
        return true;
    }

    public static uint ToUInt32(IPAddress address)
    {
        var b = address.GetAddressBytes();
        return (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
    }

    public static IPAddress FromUInt32(uint value) =>
        new([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
}
