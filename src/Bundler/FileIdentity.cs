using System.Globalization;
using System.Runtime.InteropServices;

namespace Bundler;

/// <summary>
/// Which file a path names and whether it was changed since: device, inode, size, mtime and ctime. The ctime is the
/// part nobody can set back (touch sets the mtime only), so bytes changed in place, size and mtime restored, still
/// show. Linux only (statx, an arch-independent layout); elsewhere <see cref="Of"/> returns null and callers re-hash.
/// </summary>
public sealed record FileIdentity(ulong Device, ulong Inode, long Size, long ModifiedNs, long ChangedNs)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Device}:{Inode}:{Size}:{ModifiedNs}:{ChangedNs}");

    /// <summary>The identity of the file at <paramref name="path"/> (links followed), or null where it cannot be had.</summary>
    public static FileIdentity? Of(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!OperatingSystem.IsLinux())
            return null;
        try
        {
            if (Native.statx(AtFdCwd, path, 0, StatxBasicStats, out var s) != 0)
                return null;
            return From(s);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // A C library without statx (glibc before 2.28): no identity, callers re-hash.
            return null;
        }
    }

    /// <summary>The identity of an open file (statx with AT_EMPTY_PATH on its descriptor), or null where it cannot be had.</summary>
    public static FileIdentity? Of(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (!OperatingSystem.IsLinux())
            return null;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (Native.statx((int)handle.DangerousGetHandle(), "", AtEmptyPath, StatxBasicStats, out var s) != 0)
                return null;
            return From(s);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    private static FileIdentity From(Statx s) => new(((ulong)s.DevMajor << 32) | s.DevMinor, s.Ino, (long)s.Size,
        s.MtimeSec * 1_000_000_000 + s.MtimeNsec, s.CtimeSec * 1_000_000_000 + s.CtimeNsec);

    private const int AtEmptyPath = 0x1000;
    private const int AtFdCwd = -100;
    private const uint StatxBasicStats = 0x7ff;

    /// <summary>struct statx (linux/stat.h): 256 bytes, the same on every architecture.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct Statx
    {
        [FieldOffset(32)] public ulong Ino;
        [FieldOffset(40)] public ulong Size;
        [FieldOffset(96)] public long CtimeSec;
        [FieldOffset(104)] public uint CtimeNsec;
        [FieldOffset(112)] public long MtimeSec;
        [FieldOffset(120)] public uint MtimeNsec;
        [FieldOffset(136)] public uint DevMajor;
        [FieldOffset(140)] public uint DevMinor;
    }

    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string pathname, int flags, uint mask, out Statx statxbuf);
    }
}
