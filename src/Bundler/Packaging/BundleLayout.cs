using System.Globalization;

namespace Bundler.Packaging;

/// <summary>
/// Every name inside a <c>.run</c> file and an artifacts folder, written down once (docs/bundle-format.md).
/// The installer template reads the same names.
/// </summary>
public static class BundleLayout
{
    public const string ManifestFile = "manifest.json";
    public const string SumsFile = "SHA256SUMS";
    public const string SignatureFile = "SHA256SUMS.sig";
    public const string PublicKeyFile = "signing.pub";
    public const string RunExtension = ".run";

    /// <summary>Payload folder the installer reads and never installs: the file table and the node's record.</summary>
    public const string MetaDir = ".kbundle";
    public const string FileTable = MetaDir + "/files.tsv";
    public const string DirTable = MetaDir + "/dirs.tsv";
    public const string NodeRecord = MetaDir + "/node.json";

    /// <summary>The header starts with these two lines; the header hash covers every byte after them.</summary>
    public const string Shebang = "#!/bin/bash\n";
    public const string HeaderHashKey = "KB_HEADER_SHA256=";
    public static readonly int HashedFrom = Shebang.Length + HeaderHashKey.Length + 64 + 1;

    /// <summary>Width of the size fields, so the header's length does not depend on the numbers in it.</summary>
    public const int SizeWidth = 12;

    public static string RunFile(string node) => node + RunExtension;

    public static string Octal(UnixFileMode mode) => Convert.ToString((int)mode, 8).PadLeft(4, '0');

    public static string Octal(int mode) => Convert.ToString(mode, 8).PadLeft(4, '0');

    public static UnixFileMode ParseOctal(string text) => (UnixFileMode)Convert.ToInt32(text, 8);

    /// <summary>Path of a node file inside the tar: relative, so <c>tar -C DIR</c> never writes outside DIR.</summary>
    public static string EntryName(string nodePath) => nodePath.TrimStart('/');

    public static string Padded(long value) => value.ToString(CultureInfo.InvariantCulture).PadLeft(SizeWidth, '0');
}
