using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Bundler.Configuration;
using Bundler.Layout;
using Bundler.Pki;

namespace Bundler.Packaging;

/// <summary>
/// The bash header of a <c>.run</c>: fixed first lines (hash, sizes), the node's metadata and the names the installer
/// uses as shell variables (<see cref="HeaderKeys"/>), then the installer (the parts of bundle-templates/installer/).
/// The header hash covers every byte after the hash line, so the installer can check its own header before it reads
/// anything else.
/// </summary>
public static class BundleHeader
{
    /// <summary>The installer script: each part from --templates if it has one, else the one shipped with the tool.</summary>
    public static string LoadTemplate(string? templatesDir)
    {
        var shippedDir = ToolPaths.Find("bundle-templates");
        var script = new StringBuilder();
        foreach (var part in BundleLayout.InstallerParts)
        {
            var path = templatesDir is not null && File.Exists(Path.Combine(templatesDir, part)) ? Path.Combine(templatesDir, part) : Path.Combine(shippedDir, part);
            if (!File.Exists(path))
                throw new InvalidOperationException($"installer part not found at {path}");
            var text = File.ReadAllText(path);
            script.Append(text);
            if (!text.EndsWith('\n'))
                script.Append('\n');
        }
        return script.ToString();
    }

    /// <summary>The header's variables for one node: its metadata, what the roles table gives it, and the names it uses.</summary>
    /// <param name="etcd">The site's etcd membership against the running build (who joins, who is removed); a site never built when null.</param>
    public static List<KeyValuePair<string, string>> Metadata(SiteSpec site, NodeSpec node, IReadOnlyList<string> units, long epoch, BuildSerial? build = null,
        Rollout.EtcdCluster? etcd = null)
    {
        build ??= BuildSerial.Placeholder;
        ArgumentNullException.ThrowIfNull(site);
        ArgumentNullException.ThrowIfNull(node);
        etcd ??= new Rollout.EtcdCluster(site, null);
        var components = ComponentTable.For(node.Roles).ToList();
        return
        [
            new(HeaderKeys.HashedFrom, (BundleLayout.HashedFrom + 1).ToString(CultureInfo.InvariantCulture)),
            new(HeaderKeys.Site, site.Name),
            new(HeaderKeys.Node, node.Name),
            new(HeaderKeys.Ip, node.Ip.ToString()),
            new(HeaderKeys.Roles, Names.Of(node.Roles)),
            new(HeaderKeys.Arch, Names.Of(node.Arch)),
            new(HeaderKeys.Kubernetes, site.Kubernetes),
            new(HeaderKeys.ToolVersion, PackageStep.ToolVersion),
            new(HeaderKeys.BuildEpoch, epoch.ToString(CultureInfo.InvariantCulture)),
            new(HeaderKeys.BuildSerial, build.Number.ToString(CultureInfo.InvariantCulture)),
            new(HeaderKeys.BuildTime, build.Number == 0 ? "" : build.TimeText),
            new(HeaderKeys.Units, string.Join(' ', units)),
            new(HeaderKeys.DataDirs, string.Join(' ', ComponentTable.DataDirsFor(node.Roles))),
            new(HeaderKeys.Ports, string.Join(' ', components.SelectMany(c => c.PortsOf(site).Select(p => FormattableString.Invariant($"{c.Name}:{p.Name}={p.Number}"))))),
            new(HeaderKeys.HostCommands, string.Join(';', components.SelectMany(c => c.HostCommands(site.Network).Select(h => $"{c.Name}:{h.Command}:{h.Package}")))),
            new(HeaderKeys.FirstMaster, Bundler.Render.TemplateCatalog.AppliesBootstrap(site, node) ? "yes" : "no"),
            new(HeaderKeys.Hosts, string.Join(' ', site.Nodes.Select(n => $"{n.Ip}={n.Name}"))),
            new(HeaderKeys.EtcdMembers, string.Join(' ', etcd.Members.Select(m => $"{m.Name}={m.Ip}"))),
            new(HeaderKeys.EtcdJoin, node.Is(Roles.Etcd) && etcd.JoinsExisting(node) ? "yes" : "no"),
            new(HeaderKeys.EtcdRemove, string.Join(' ', etcd.RemovedBy(node).Select(m => $"{m.Name}={m.Ip}"))),
            new(HeaderKeys.EtcdToken, Rollout.EtcdCluster.Token(site)),
            new(HeaderKeys.StateDir, NodePaths.StateDir),
            new(HeaderKeys.InstallLog, NodePaths.InstallLog),
            new(HeaderKeys.MetaDir, BundleLayout.MetaDir),
            new(HeaderKeys.FileTable, BundleLayout.FileTable),
            new(HeaderKeys.DirTable, BundleLayout.DirTable),
            new(HeaderKeys.BinDir, NodePaths.BinDir),
            new(HeaderKeys.CaCert, CertificateTable.Row(CertificateTable.Ca).NodePath),
            new(HeaderKeys.EtcdCaCert, CertificateTable.Row(CertificateTable.EtcdCa).NodePath),
            new(HeaderKeys.EtcdHealthCert, CertificateTable.Row("etcd/healthcheck-client").NodePath),
            new(HeaderKeys.EtcdHealthKey, CertificateTable.Row("etcd/healthcheck-client").KeyNodePath!),
            new(HeaderKeys.AdminConf, CertificateTable.CredentialRow("admin").NodePath),
            new(HeaderKeys.SuperAdminConf, CertificateTable.CredentialRow("super-admin").NodePath),
            new(HeaderKeys.KubeletConf, CertificateTable.CredentialRow("kubelet").NodePath),
            new(HeaderKeys.RootKubeconfig, NodePaths.RootKubeconfig),
            new(HeaderKeys.BootstrapManifests, Bundler.Render.TemplateCatalog.AppliesBootstrap(site, node) ? string.Join(' ', Bundler.Render.TemplateCatalog.BootstrapManifests(site)) : ""),
            new(HeaderKeys.SysctlConf, NodePaths.Sysctl),
            new(HeaderKeys.ModulesConf, NodePaths.ModulesLoad),
            new(HeaderKeys.PodRoutes, NodePaths.PodRoutes),
            new(HeaderKeys.ContainerdSocket, NodePaths.ContainerdSocket),
            new(HeaderKeys.EtcdDataDir, NodePaths.EtcdDataDir),
            new(HeaderKeys.EtcdClusterEnv, NodePaths.EtcdClusterEnv),
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
            body.Append(HeaderKeys.HeaderSize).Append('=').Append(BundleLayout.Padded(headerSize)).Append('\n');
            body.Append(HeaderKeys.PayloadSize).Append('=').Append(BundleLayout.Padded(payloadSize)).Append('\n');
            body.Append(HeaderKeys.PayloadSha256).Append('=').Append(payloadSha256).Append('\n');
            foreach (var (key, value) in metadata)
            {
                // Single quotes carry everything else literally; the site and lock grammars keep these out anyway.
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
