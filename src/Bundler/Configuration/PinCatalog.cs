using YamlDotNet.RepresentationModel;

namespace Bundler.Configuration;

/// <summary>
/// Which Kubernetes versions have a lock file: every <c>pins/&lt;version&gt;.yaml</c> shipped with the tool, or
/// exactly the one file given with <c>--pins</c>.
/// </summary>
public sealed class PinCatalog
{
    private readonly Dictionary<string, string> _files;

    private PinCatalog(string source, Dictionary<string, string> files)
    {
        Source = source;
        _files = files;
    }

    /// <summary>Where the versions came from, for messages: a folder or a file.</summary>
    public string Source { get; }

    public IEnumerable<string> Versions => _files.Keys.Order(StringComparer.Ordinal);

    public bool Has(string version) => _files.ContainsKey(version);

    /// <summary>The lock file for a version; <see cref="UserInputException"/> if there is none.</summary>
    public string FileFor(string version) =>
        _files.TryGetValue(version, out var file) ? file
            : throw new UserInputException($"no lock file for Kubernetes {version} in {Source}; allowed: {string.Join(", ", Versions)}");

    /// <summary>The lock files shipped beside the tool (published builds) or in the repository's pins/ folder.</summary>
    public static PinCatalog Default() => FromDirectory(ToolPaths.Find("pins"));

    public static PinCatalog FromDirectory(string directory)
    {
        var files = Directory.Exists(directory)
            ? Directory.EnumerateFiles(directory, "*.yaml").ToDictionary(f => Path.GetFileNameWithoutExtension(f), f => f)
            : [];
        return new PinCatalog(directory, files);
    }

    /// <summary>A single lock file (<c>--pins FILE</c>): it provides the version its <c>kubernetes:</c> key names.</summary>
    public static PinCatalog FromFile(string file)
    {
        if (!File.Exists(file))
            throw new UserInputException($"{file}: lock file not found (--pins)");
        YamlStream stream;
        try
        {
            stream = SafeYaml.Load(File.ReadAllText(file));
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new UserInputException($"{file}:{e.Start.Line}:{e.Start.Column} (syntax): {e.Message}");
        }
        var version = stream.Documents.FirstOrDefault()?.RootNode is YamlMappingNode root &&
                      root.Children.TryGetValue(new YamlScalarNode("kubernetes"), out var v) && v is YamlScalarNode s
            ? s.Value
            : null;
        if (string.IsNullOrEmpty(version))
            throw new UserInputException($"{file}:1:1 kubernetes: is required; the Kubernetes version this lock pins, e.g. 1.36.0");
        return new PinCatalog(file, new Dictionary<string, string> { [version] = file });
    }
}

/// <summary>Finds the data folders that ship with the tool (pins/, bundle-templates/).</summary>
public static class ToolPaths
{
    /// <summary>
    /// Beside the executable first (a published kbundle carries its data), then upwards from it (running from a
    /// source checkout), then upwards from the working directory.
    /// </summary>
    public static string Find(string folder)
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, folder);
                if (Directory.Exists(candidate))
                    return candidate;
            }
        }
        return Path.Combine(AppContext.BaseDirectory, folder);
    }
}
