using Bundler.Configuration;
using Bundler.Layout;
using Bundler.Pki;

namespace Bundler.Render;

/// <summary>Renders the generated files of one node (configs, units, kubeconfigs, manifests) from the template table.</summary>
public sealed class NodeRenderer(SiteSpec site, TemplateSet templates, IReadOnlyDictionary<string, string> versions, PkiMaterial pki,
    IReadOnlyList<LockImage> images, Rollout.EtcdCluster? etcd = null)
{
    public IReadOnlyList<NodeFile> Render(NodeSpec node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var model = RenderModel.For(site, node, versions, pki, images, etcd);
        var files = new List<NodeFile>();
        foreach (var spec in TemplateCatalog.For(site, node))
        {
            var format = FileFormats.Of(spec);
            var text = spec.Identity is null
                ? templates.Render(spec.Template, format, model)
                : templates.Render(spec.Template, format, RenderModel.ForKubeconfig(model, site, node, spec, pki));
            files.Add(NodeFile.Text(spec.NodePath, text, spec.Kind, spec.Mode) with { Restarts = spec.Restarts });
        }
        return files;
    }
}
