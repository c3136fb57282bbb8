using Bundler.Layout;
using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Bundler.Packaging;
using Bundler.Pki;

namespace Bundler.Inspection;

/// <summary>One entry of a payload as read back: regular files keep their bytes when small (configs, certs) for diffs.</summary>
public sealed record PayloadFile(string Path, string Mode, long Size, string Sha256, byte[]? Content)
{
    /// <summary>The manifest's kind of the file (binary, config, privatekey, ...) when known; files read from a payload have none.</summary>
    public string? Kind { get; init; }
}

/// <summary>What a <c>.run</c> holds, read from its header and payload without running it.</summary>
public sealed record BundleView(
    string File,
    IReadOnlyDictionary<string, string> Header,
    NodeRecord? Record,
    IReadOnlyList<PayloadFile> Files,
    IReadOnlyList<CertificateRecord> Certificates)
{
    public string Node => Header.GetValueOrDefault(HeaderKeys.Node, "?");
    public string Site => Header.GetValueOrDefault(HeaderKeys.Site, "?");
}

/// <summary>Reads <c>.run</c> files: header fields, integrity of header and payload, and the payload's entries.</summary>
public sealed class BundleReader
{
    private const int ContentLimit = 1 << 20;

    private BundleReader(string path, byte[] header, IReadOnlyDictionary<string, string> fields, long fileSize)
    {
        PathName = path;
        HeaderBytes = header;
        Fields = fields;
        FileSize = fileSize;
    }

    public string PathName { get; }
    public byte[] HeaderBytes { get; }
    public IReadOnlyDictionary<string, string> Fields { get; }
    public long FileSize { get; }
    public long HeaderSize => HeaderBytes.Length;
    public long PayloadSize => long.Parse(Fields[HeaderKeys.PayloadSize], CultureInfo.InvariantCulture);
    public string PayloadSha256 => Fields[HeaderKeys.PayloadSha256];
    public string HeaderSha256 => Fields[HeaderKeys.HeaderSha256];

    /// <summary>Opens a bundle; a file that is not a kbundle .run at all is an integrity failure naming it.</summary>
    public static BundleReader Open(string path)
    {
        using var stream = File.OpenRead(path);
        var prefix = new byte[Math.Min(stream.Length, 8192)];
        stream.ReadExactly(prefix);
        var text = Encoding.UTF8.GetString(prefix);
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        // The variables are the lines after the shebang, up to the first line of the script.
        foreach (var line in text.Split('\n').Skip(1).TakeWhile(l => l.StartsWith(HeaderKeys.Prefix, StringComparison.Ordinal)))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
                fields[line[..eq]] = line[(eq + 1)..].Trim('\'');
        }
        if (!text.StartsWith(BundleLayout.Shebang + BundleLayout.HeaderHashKey, StringComparison.Ordinal)
            || !fields.TryGetValue(HeaderKeys.HeaderSize, out var sizeText) || !long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out var headerSize)
            || !fields.TryGetValue(HeaderKeys.PayloadSize, out var payloadText) || !long.TryParse(payloadText, NumberStyles.None, CultureInfo.InvariantCulture, out _)
            || !fields.ContainsKey(HeaderKeys.PayloadSha256))
            throw new IntegrityException($"{path}: not a kbundle bundle (header fields missing or damaged)");
        if (headerSize > stream.Length || headerSize < BundleLayout.HashedFrom)
            throw new IntegrityException($"{path}: header says it is {headerSize} bytes, the file has {stream.Length}");
        var header = new byte[headerSize];
        stream.Position = 0;
        stream.ReadExactly(header);
        return new BundleReader(path, header, fields, stream.Length);
    }

    /// <summary>Every integrity problem of this file: header hash, size, payload hash. Empty when sound.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        var actualHeader = Convert.ToHexStringLower(SHA256.HashData(HeaderBytes.AsSpan(BundleLayout.HashedFrom)));
        if (actualHeader != HeaderSha256)
            problems.Add($"header sha256 is {actualHeader}, the header says {HeaderSha256} (header modified)");
        if (FileSize != HeaderSize + PayloadSize)
            problems.Add($"size is {FileSize} bytes, header + payload should be {HeaderSize + PayloadSize} (truncated or appended)");
        var actualPayload = PayloadHash();
        if (actualPayload != PayloadSha256)
            problems.Add($"payload sha256 is {actualPayload}, the header says {PayloadSha256} (payload modified)");
        return problems;
    }

    public string PayloadHash()
    {
        using var stream = OpenPayload();
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public Stream OpenPayload()
    {
        var stream = File.OpenRead(PathName);
        stream.Position = HeaderSize;
        return stream;
    }

    /// <summary>
    /// Reads the payload (after <see cref="Problems"/> said it is sound) into a view for inspect and diff. Entries are
    /// streamed: each is hashed as it passes and kept only up to <see cref="ContentLimit"/>, so a payload that unpacks
    /// to gigabytes (a binary, or a crafted bomb) costs time, never memory.
    /// </summary>
    public BundleView Read()
    {
        var files = new List<PayloadFile>();
        NodeRecord? record = null;
        var buffer = new byte[1 << 16];
        using (var payload = OpenPayload())
        using (var gzip = new GZipStream(payload, CompressionMode.Decompress))
        using (var tar = new TarReader(gzip))
        {
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                    continue;
                var name = entry.Name;
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                using var kept = new MemoryStream();
                long size = 0;
                if (entry.DataStream is { } data)
                {
                    int read;
                    while ((read = data.Read(buffer)) > 0)
                    {
                        hash.AppendData(buffer, 0, read);
                        if (size + read <= ContentLimit)
                            kept.Write(buffer, 0, read);
                        size += read;
                    }
                }
                var bytes = size <= ContentLimit ? kept.ToArray() : null;
                if (name == BundleLayout.NodeRecord)
                    record = bytes is null
                        ? throw new IntegrityException($"{PathName}: {BundleLayout.NodeRecord} is {size} bytes; a node record is a few kilobytes")
                        : JsonSerializer.Deserialize<NodeRecord>(bytes, BundleManifest.Json);
                if (name.StartsWith(BundleLayout.MetaDir + "/", StringComparison.Ordinal))
                    continue;
                files.Add(new PayloadFile("/" + name, BundleLayout.Octal(entry.Mode), size, Convert.ToHexStringLower(hash.GetCurrentHash()), bytes));
            }
        }
        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return new BundleView(PathName, Fields, record, files, Certificates(files));
    }

    /// <summary>Certificates in .crt files and in kubeconfigs (client-certificate-data), parsed from the bytes shipped.</summary>
    public static IReadOnlyList<CertificateRecord> Certificates(IEnumerable<PayloadFile> files)
    {
        var result = new List<CertificateRecord>();
        foreach (var file in files.Where(f => f.Content is not null))
        {
            if (file.Path.EndsWith(".crt", StringComparison.Ordinal))
            {
                foreach (var cert in PemCertificates(Encoding.UTF8.GetString(file.Content!)))
                    result.Add(CertificateRecord.Of(file.Path, cert));
            }
            else if (file.Path.EndsWith(".conf", StringComparison.Ordinal))
            {
                foreach (var line in Encoding.UTF8.GetString(file.Content!).Split('\n'))
                {
                    var trimmed = line.Trim();
                    if (!trimmed.StartsWith("client-certificate-data:", StringComparison.Ordinal))
                        continue;
                    try
                    {
                        var pem = Encoding.UTF8.GetString(Convert.FromBase64String(trimmed["client-certificate-data:".Length..].Trim()));
                        foreach (var cert in PemCertificates(pem))
                            result.Add(CertificateRecord.Of(file.Path, cert));
                    }
                    catch (FormatException)
                    {
                        // Not base64: not an embedded certificate, nothing to report.
                    }
                }
            }
        }
        return result;
    }

    private static IEnumerable<X509Certificate2> PemCertificates(string pem)
    {
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPem(pem);
        }
        catch (CryptographicException)
        {
            return [];
        }
        return collection;
    }
}
