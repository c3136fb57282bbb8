using Bundler.Layout;
using Bundler.Render.Escaping;

namespace Bundler.Render;

/// <summary>
/// The format of the file a template row renders, from where the file lands on the node: it chooses the escaper
/// every value of that template goes through. A row whose file matches no rule is a bug (it would be rendered
/// without knowing how to escape), so it throws.
/// </summary>
public static class FileFormats
{
    public static FileFormat Of(TemplateSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var path = spec.NodePath;
        if (spec.Kind == FileKind.Unit || path.EndsWith(".service", StringComparison.Ordinal) || path.EndsWith(".timer", StringComparison.Ordinal))
            return FileFormat.Systemd;
        if (spec.Kind == FileKind.Kubeconfig || path.EndsWith(".yaml", StringComparison.Ordinal) || path.EndsWith(".yml", StringComparison.Ordinal))
            return FileFormat.Yaml;
        if (path.EndsWith(".toml", StringComparison.Ordinal))
            return FileFormat.Toml;
        // Every file in the CNI config folder is JSON, whatever its extension (.conf, .conflist: CNI spec).
        if (path.EndsWith(".json", StringComparison.Ordinal) || Path.GetDirectoryName(path) == NodePaths.CniConfDir)
            return FileFormat.Json;
        if (path == NodePaths.NginxConf)
            return FileFormat.Nginx;
        if (path.EndsWith(".sh", StringComparison.Ordinal))
            return FileFormat.Shell;
        // The etcd environment file (systemd EnvironmentFile=: KEY=value lines) and the certificate table (tab-separated words).
        if (path is NodePaths.Sysctl or NodePaths.ModulesLoad or NodePaths.PodRoutes or NodePaths.EtcdClusterEnv or NodePaths.CertExpiryTable)
            return FileFormat.Lines;
        throw new InvalidOperationException($"{spec.Template}: no escaper is known for {path}; add its format to FileFormats.Of");
    }
}
