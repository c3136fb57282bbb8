using System.Globalization;
using System.Text;
using Bundler.Layout;

namespace Bundler.Render;

/// <summary>
/// Writes a node's generated files to a folder, laid out as on the node (golden files, <c>inspect</c>, reviews),
/// plus <c>FILES</c>: every path of the tree with mode and kind, binaries and PKI included, so a reviewer sees
/// what a node carries (least privilege) without its secrets.
/// </summary>
public static class NodeTreeWriter
{
    /// <summary>Which files are written with their content: generated text, not certificates, keys or binaries.</summary>
    public static bool IsRendered(NodeFile file) =>
        file?.Content is not null && file.Kind is not (FileKind.Binary or FileKind.Certificate or FileKind.PrivateKey);

    public static void Write(NodeTree tree, string directory, Func<NodeFile, string>? text = null)
    {
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(directory);
        text ??= f => Encoding.UTF8.GetString(f.Content!);
        foreach (var file in tree.Files.Where(IsRendered))
            AtomicFile.WriteAllText(Path.Combine(directory, file.Path.TrimStart('/')), text(file));
        AtomicFile.WriteAllText(Path.Combine(directory, "FILES"), Index(tree));
    }

    public static string Index(NodeTree tree)
    {
        ArgumentNullException.ThrowIfNull(tree);
        var lines = new StringBuilder();
        lines.Append("# ").Append(tree.Node).Append(": units in start order: ").AppendJoin(" ", tree.Units).Append('\n');
        foreach (var file in tree.Files)
            lines.Append(Convert.ToString((int)file.Mode, 8).PadLeft(4, '0')).Append(' ')
                .Append(file.Kind.ToString().ToLower(CultureInfo.InvariantCulture)).Append(' ').Append(file.Path).Append('\n');
        return lines.ToString();
    }
}
