using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Bundler.Configuration;
using Bundler.Layout;

namespace Bundler.Packaging;

/// <summary>
/// The bash header of a <c>.run</c>: fixed first lines (hash, sizes), the node's metadata as shell variables,
/// then the installer template (bundle-templates/installer/installer.sh). The header hash covers every byte
/// after the hash line, so the installer can check its own header before it reads anything else.
/// </summary>
public static class BundleHeader
{
    public const string TemplateFile = "installer/installer.sh";

    /// <summary>The installer template: from --templates if it has one, else the one shipped with the tool.</summary>
    public static string LoadTemplate(string? templatesDir)
    {
        if (templatesDir is not null && File.Exists(Path.Combine(templatesDir, TemplateFile)))
            return File.ReadAllText(Path.Combine(templatesDir, TemplateFile));
        var shipped = Path.Combine(ToolPaths.Find("bundle-templates"), TemplateFile);
        if (!File.Exists(shipped))
            throw new InvalidOperationException($"installer template not found at {shipped}");
        return File.ReadAllText(shipped);
    }

    /// <summary>The node's metadata as header variables: --info prints them, the installer's functions read them.</summary>
    public static List<KeyValuePair<string, string>> Metadata(SiteSpec site, NodeSpec node, IReadOnlyList<string> units, long epoch)
    {
        ArgumentNullException.ThrowIfNull(site);
        ArgumentNullException.ThrowIfNull(node);
        return
        [
            new("KB_SITE", site.Name),
            new("KB_NODE", node.Name),
            new("KB_IP", node.Ip.ToString()),
            new("KB_ROLES", Names.Of(node.Roles)),
            new("KB_ARCH", Names.Of(node.Arch)),
            new("KB_KUBERNETES", site.Kubernetes),
            new("KB_TOOL_VERSION", PackageStep.ToolVersion),
            new("KB_BUILD_EPOCH", epoch.ToString(CultureInfo.InvariantCulture)),
            new("KB_UNITS", string.Join(' ', units)),
            new("KB_DATA_DIRS", string.Join(' ', ComponentTable.DataDirsFor(node.Roles))),
            new("KB_API_PORT", site.ApiServer.Port.ToString(CultureInfo.InvariantCulture)),
            new("KB_LOCAL_PROXY_PORT", site.ApiServer.LocalProxyPort.ToString(CultureInfo.InvariantCulture)),
            new("KB_PROXY_MODE", Names.Of(site.Network.ProxyMode)),
            new("KB_FIRST_MASTER", node.Is(Roles.Master) && site.FirstMaster.Name == node.Name ? "yes" : "no"),
            new("KB_HOSTS", string.Join(' ', site.Nodes.Select(n => $"{n.Ip}={n.Name}"))),
        ];
    }

    /// <summary>Builds the header bytes for a payload of this size and hash.</summary>
    public static byte[] Render(string template, IReadOnlyList<KeyValuePair<string, string>> metadata, long payloadSize, string payloadSha256)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(metadata);
        if (template.StartsWith("#!", StringComparison.Ordinal))
            template = template[(template.IndexOf('\n', StringComparison.Ordinal) + 1)..];
        string Body(long headerSize)
        {
            var body = new StringBuilder();
            body.Append("KB_HEADER_SIZE=").Append(BundleLayout.Padded(headerSize)).Append('\n');
            body.Append("KB_PAYLOAD_SIZE=").Append(BundleLayout.Padded(payloadSize)).Append('\n');
            body.Append("KB_PAYLOAD_SHA256=").Append(payloadSha256).Append('\n');
            foreach (var (key, value) in metadata)
            {
                if (value.Any(c => c is '\'' or '\n' or '\\'))
                    throw new InvalidOperationException($"header value {key} holds a character the header cannot carry");
                body.Append(key).Append("='").Append(value).Append("'\n");
            }
            body.Append(template);
            if (!template.EndsWith('\n'))
                body.Append('\n');
            return body.ToString();
        }
        var provisional = Encoding.UTF8.GetBytes(Body(0));
        var size = BundleLayout.HashedFrom + provisional.Length;
        var hashed = Encoding.UTF8.GetBytes(Body(size));
        var hash = Convert.ToHexStringLower(SHA256.HashData(hashed));
        var header = Encoding.UTF8.GetBytes(BundleLayout.Shebang + BundleLayout.HeaderHashKey + hash + "\n").Concat(hashed).ToArray();
        if (header.Length != size)
            throw new InvalidOperationException("header size drifted while rendering");
        return header;
    }
}
