using System.Collections.Immutable;

namespace Bundler.Layout;

/// <summary>What kind of file, for modes and the manifest.</summary>
public enum FileKind { Binary, Config, Certificate, PrivateKey, Kubeconfig, Unit, Manifest, Script, Images }

/// <summary>
/// One file a node receives: its path on the node, mode, and either its bytes (generated files) or the
/// local file that holds them (binaries from the cache). The unit of exchange between render and package.
/// </summary>
public sealed record NodeFile(string Path, UnixFileMode Mode, FileKind Kind)
{
    /// <summary>Generated content, or null when <see cref="SourceFile"/> holds the bytes.</summary>
    public byte[]? Content { get; init; }

    /// <summary>A local file with the bytes (binaries), or null when <see cref="Content"/> is set.</summary>
    public string? SourceFile { get; init; }

    /// <summary>
    /// The images an image archive holds (<see cref="FileKind.Images"/>), or null. The package step writes the archive
    /// once per arch and shares it between nodes like a binary; neither <see cref="Content"/> nor <see cref="SourceFile"/> is set.
    /// </summary>
    public Packaging.ImageArchive? Archive { get; init; }

    /// <summary>The lock artifact a binary comes from (kubernetes-server, etcd, ...): the manifest's <c>component</c>.</summary>
    public string? Component { get; init; }

    /// <summary>
    /// The components whose units a change of this file restarts (a newer bundle restarts only these). Set by the
    /// table row the file comes from: the roles table (binaries), the template table, the certificate table.
    /// </summary>
    public ImmutableArray<ComponentSpec> Restarts { get; init; } = [];

    public const UnixFileMode Executable = (UnixFileMode)0b111_101_101;   // 0755
    public const UnixFileMode Public = (UnixFileMode)0b110_100_100;       // 0644
    public const UnixFileMode Secret = (UnixFileMode)0b110_000_000;       // 0600
    public const UnixFileMode SecretDir = (UnixFileMode)0b111_000_000;    // 0700

    public static NodeFile Text(string path, string text, FileKind kind, UnixFileMode? mode = null) =>
        new(path, mode ?? (kind is FileKind.PrivateKey or FileKind.Kubeconfig ? Secret : Public), kind)
        {
            Content = System.Text.Encoding.UTF8.GetBytes(text),
        };

    /// <summary>An image archive (images-&lt;arch&gt;.tar, SPEC §7): 0644, its bytes written by the package step.</summary>
    public static NodeFile Images(string path, Packaging.ImageArchive archive, ImmutableArray<ComponentSpec> restarts) =>
        new(path, Public, FileKind.Images) { Archive = archive, Restarts = restarts };

    public static NodeFile Binary(string path, string sourceFile, string component, ImmutableArray<ComponentSpec> restarts = default) =>
        new(path, Executable, FileKind.Binary) { SourceFile = sourceFile, Component = component, Restarts = restarts.IsDefault ? [] : restarts };
}
