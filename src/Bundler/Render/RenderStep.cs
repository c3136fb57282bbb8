using System.Collections.Immutable;
using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Layout;
using Bundler.Nginx;
using Bundler.Pipeline;
using Bundler.Pki;

namespace Bundler.Render;

// Reads bundle-templates/ (+ --templates). Writes nothing: hands on each node's files (rendered ones by content,
// PKI files, binaries by reference) and its units in start order.
public static class RenderStep
{
    public static Task<RenderResult> RunAsync(BuildInputs inputs, FetchResult fetched, NginxResult nginx, PkiMaterial pki, IBuildReporter reporter,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(reporter);
        var templates = TemplateSet.Open(ToolPaths.Find("bundle-templates"), inputs.Options.TemplatesDir);
        var result = Render(inputs.Site, templates, inputs.Lock.Versions, pki, fetched, nginx, cancellationToken, inputs.Etcd);
        reporter.Info($"rendered {result.Nodes.Sum(n => n.Files.Count)} files for {result.Nodes.Count} nodes");
        return Task.FromResult(result);
    }

    /// <summary>The whole render, without a pipeline: what tests and the step share.</summary>
    /// <param name="etcd">The site's etcd membership against the running build (who joins); a site never built when null.</param>
    public static RenderResult Render(SiteSpec site, TemplateSet templates, IReadOnlyDictionary<string, string> versions,
        PkiMaterial pki, FetchResult fetch, NginxResult nginx, CancellationToken cancellationToken = default, Rollout.EtcdCluster? etcd = null)
    {
        ArgumentNullException.ThrowIfNull(site);
        ArgumentNullException.ThrowIfNull(fetch);
        ArgumentNullException.ThrowIfNull(nginx);
        var renderer = new NodeRenderer(site, templates, versions, pki, fetch.Images.Select(i => i.Pin).ToList(), etcd);
        var trees = new List<NodeTree>();
        foreach (var node in site.Nodes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var files = new List<NodeFile>(renderer.Render(node));
            files.AddRange(pki.PkiFilesFor(node));
            foreach (var component in ComponentTable.For(node.Roles))
            {
                ImmutableArray<ComponentSpec> restarts = component.IsUnit ? [component] : [];
                foreach (var path in component.Binaries)
                    files.Add(Fetched(path, restarts));
                foreach (var path in component.Tools)
                    files.Add(Fetched(path, []));
                foreach (var path in component.OptionalTools.Where(p => fetch.Files.ContainsKey((node.Arch, p))))
                    files.Add(Fetched(path, []));
                if (component.BuiltBinary is { } built)
                    files.Add(NodeFile.Binary(built, nginx.BinaryFor(node.Arch), "kube-nginx", restarts));
                if (component.ImageArchive is { } archive)
                    files.Add(NodeFile.Images(archive(node.Arch), new Packaging.ImageArchive(node.Arch, fetch.Images), restarts));
            }
            // A site's own add-ons, as fetched and verified; 0600: nothing says what a manifest holds.
            if (TemplateCatalog.AppliesBootstrap(site, node))
                files.AddRange(fetch.Addons.Select(a => new NodeFile(NodePaths.Addon(a.Addon.Name), NodeFile.Secret, FileKind.Manifest) { Content = a.Content }));
            var duplicate = files.GroupBy(f => f.Path, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
                throw new InvalidOperationException($"{node.Name}: two files for {duplicate.Key}");
            trees.Add(new NodeTree(node.Name, files.OrderBy(f => f.Path, StringComparer.Ordinal).ToList(), ComponentTable.UnitsFor(node.Roles)));

            NodeFile Fetched(string path, ImmutableArray<ComponentSpec> restarts)
            {
                var fetched = fetch.FileFor(node.Arch, path);
                return NodeFile.Binary(path, fetched.LocalPath, fetched.Component, restarts);
            }
        }
        return new RenderResult(trees);
    }

    /// <summary>Every node's rendered nginx.conf, by node name (for checking them with the built kube-nginx: <c>-t</c>).</summary>
    public static IReadOnlyDictionary<string, string> NginxConfigs(RenderResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Nodes.ToDictionary(
            n => n.Node,
            n => System.Text.Encoding.UTF8.GetString(n.Files.Single(f => f.Path == NodePaths.NginxConf).Content!));
    }
}
