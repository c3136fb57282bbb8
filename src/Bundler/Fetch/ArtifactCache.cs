using Bundler.Configuration;

namespace Bundler.Fetch;

/// <summary>
/// The content-addressed cache (<c>--cache</c>, default ~/.cache/kbundle). An entry at
/// <c>&lt;algorithm&gt;/&lt;checksum&gt;</c> appears only once its bytes were verified (a rename from
/// <c>partial/</c>); files that failed verification go to <c>quarantine/</c>, never into the cache.
/// </summary>
public sealed class ArtifactCache
{
    public ArtifactCache(string root)
    {
        ArgumentNullException.ThrowIfNull(root);
        Root = Path.GetFullPath(root);
    }

    public string Root { get; }
    public string PartialDir => Path.Combine(Root, "partial");
    public string QuarantineDir => Path.Combine(Root, "quarantine");

    public string EntryPath(LockArtifact artifact) => Path.Combine(Root, artifact.Algorithm, artifact.Checksum);

    /// <summary>Where a download in progress accumulates; kept across runs so a cut download resumes.</summary>
    public string PartialPath(LockArtifact artifact) => Path.Combine(PartialDir, $"{artifact.Algorithm}-{artifact.Checksum}");

    /// <summary>Unpacked members of a verified archive, keyed by its checksum so a warm build unpacks nothing.</summary>
    public string UnpackDir(LockArtifact artifact) => Path.Combine(Root, "unpacked", $"{artifact.Algorithm}-{artifact.Checksum}");

    /// <summary>
    /// The artifact's detached signature, kept once it verified. Keyed by the artifact's checksum and the signature URL:
    /// a signature is not content-addressed (nothing pins its bytes), so it is re-verified on every build instead.
    /// </summary>
    public string SignaturePath(LockArtifact artifact)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        var url = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(artifact.Signature?.Url ?? "")));
        return Path.Combine(Root, "signatures", $"{artifact.Algorithm}-{artifact.Checksum}-{url[..16]}.asc");
    }

    /// <summary>Moves a verified file into the cache (same file system: an atomic rename).</summary>
    public string Admit(string verifiedFile, LockArtifact artifact)
    {
        var entry = EntryPath(artifact);
        Directory.CreateDirectory(Path.GetDirectoryName(entry)!);
        File.Move(verifiedFile, entry, overwrite: true);
        return entry;
    }

    /// <summary>Moves a file whose checksum did not match out of the way, keeping it for inspection.</summary>
    public string Quarantine(string file, LockArtifact artifact, string actual)
    {
        Directory.CreateDirectory(QuarantineDir);
        var target = Path.Combine(QuarantineDir, $"{artifact.FileName}.{artifact.Algorithm}-{actual[..16]}.{DateTime.UtcNow:yyyyMMddHHmmssfff}");
        File.Move(file, target, overwrite: true);
        return target;
    }

    /// <summary>Moves a signature that did not verify out of the way, keeping it for inspection.</summary>
    public string QuarantineSignature(string file, LockArtifact artifact)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        Directory.CreateDirectory(QuarantineDir);
        var target = Path.Combine(QuarantineDir, $"{artifact.Signature?.FileName ?? artifact.FileName + ".asc"}.{artifact.Algorithm}-{artifact.Checksum[..16]}.{DateTime.UtcNow:yyyyMMddHHmmssfff}");
        File.Move(file, target, overwrite: true);
        return target;
    }

    public string NewTempPath(string label)
    {
        Directory.CreateDirectory(PartialDir);
        return AtomicFile.TempName(Path.Combine(PartialDir, label));
    }
}
