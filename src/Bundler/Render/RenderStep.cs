using System.Collections.Immutable;
using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Layout;
using Bundler.Nginx;
using Bundler.Pipeline;
using Bundler.Pki;
using YamlDotNet.RepresentationModel;

namespace Bundler.Render;

// Reads: site, lock (component versions), IPkiResult, FetchResult, NginxResult, bundle-templates/ (+ --templates overlay).
// Writes: RenderResult (one NodeTree per node: rendered files by content, PKI files, binaries by reference).
public sealed class RenderStep : IStep
{
    public StepName Name => StepName.Render;
    public string Reads => "site, lock, pki, fetch, nginx, bundle-templates/ (+ --templates)";
    public string Writes => "per-node file trees";

    public Task RunAsync(BuildContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var templates = TemplateSet.Open(ToolPaths.Find("bundle-templates"), context.Options.TemplatesDir);
        var result = Render(context.Site, templates, LockVersions(context.LockFile), context.Get<IPkiResult>(),
            context.Get<FetchResult>(), context.Get<NginxResult>(), cancellationToken);
        context.Set(result);
        context.Reporter.Info($"rendered {result.Nodes.Sum(n => n.Files.Count)} files for {result.Nodes.Count} nodes");
        return Task.CompletedTask;
    }

    /// <summary>The whole render, without a pipeline: what tests and the step share.</summary>
    public static RenderResult Render(SiteSpec site, TemplateSet templates, IReadOnlyDictionary<string, string> versions,
        IPkiResult pki, FetchResult fetch, NginxResult nginx, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(site);
        ArgumentNullException.ThrowIfNull(fetch);
        ArgumentNullException.ThrowIfNull(nginx);
        var renderer = new NodeRenderer(site, templates, versions, pki);
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
                if (component.BuiltBinary is { } built)
                    files.Add(NodeFile.Binary(built, nginx.BinaryFor(node.Arch), "kube-nginx", restarts));
            }
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

    /// <summary>Artifact name → version from the lock file, for the comments at the top of each rendered file.</summary>
    public static IReadOnlyDictionary<string, string> LockVersions(string lockFile)
    {
        var versions = new Dictionary<string, string>(StringComparer.Ordinal);
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(lockFile)));
        if (stream.Documents.FirstOrDefault()?.RootNode is not YamlMappingNode root ||
            !root.Children.TryGetValue(new YamlScalarNode("artifacts"), out var artifacts) || artifacts is not YamlSequenceNode list)
            return versions;
        foreach (var item in list.OfType<YamlMappingNode>())
        {
            if (item.Children.TryGetValue(new YamlScalarNode("name"), out var name) && name is YamlScalarNode n &&
                item.Children.TryGetValue(new YamlScalarNode("version"), out var version) && version is YamlScalarNode v)
                versions.TryAdd(n.Value!, v.Value!);
        }
        return versions;
    }
}
