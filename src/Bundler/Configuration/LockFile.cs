using System.Text.RegularExpressions;
using Bundler.Layout;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Bundler.Configuration;

/// <summary>What an artifact is: shipped as is (binaries, archives of binaries) or built by the pipeline (source).</summary>
public enum ArtifactKind { Binary, Source }

/// <summary>
/// One pinned upstream artifact (SPEC §5). <see cref="Arch"/> is "amd64", "arm64" or "any" (sources).
/// Exactly one of <see cref="Files"/> (archive member -> node path) and <see cref="Install"/> (a plain file) is set
/// for binaries; sources have neither.
/// </summary>
public sealed record LockArtifact(
    string Name,
    string Version,
    string Arch,
    string Url,
    string Algorithm,
    string Checksum,
    IReadOnlyDictionary<string, string> Files,
    string? Install,
    ArtifactKind Kind,
    Location At)
{
    /// <summary>The name the file has at its URL: mirrors (URL or folder) are looked up by it.</summary>
    public string FileName => Uri.TryCreate(Url, UriKind.Absolute, out var uri)
        ? Path.GetFileName(Uri.UnescapeDataString(uri.AbsolutePath))
        : Path.GetFileName(Url);

    public bool AppliesTo(Arch arch) => Arch == "any" || Arch == Names.Of(arch);

    /// <summary>Every node path this artifact provides.</summary>
    public IEnumerable<string> NodePaths => Install is null ? Files.Values : [Install];
}

/// <summary>A validated lock file: the Kubernetes version it pins and its artifacts.</summary>
public sealed partial record LockFile(string Path, string Kubernetes, IReadOnlyList<LockArtifact> Artifacts)
{
    private static readonly string[] TopKeys = ["kubernetes", "artifacts", "images"];
    private static readonly string[] ArtifactKeys = ["name", "version", "arch", "url", "sha256", "sha512", "files", "install", "kind"];
    private static readonly string[] Arches = ["amd64", "arm64", "any"];

    [GeneratedRegex("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]
    private static partial Regex ArtifactName();

    [GeneratedRegex("^[0-9a-f]+$")]
    private static partial Regex LowerHex();

    public static LockFile Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new UserInputException($"{path}: lock file not found");
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses and validates; every problem is reported at once with file:line:column.</summary>
    public static LockFile Parse(string yaml, string path)
    {
        var bag = new DiagnosticBag(path);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            bag.Error(new Location((int)e.Start.Line, (int)e.Start.Column), "(syntax)", e.InnerException?.Message ?? e.Message);
            bag.ThrowIfErrors();
        }
        if (stream.Documents.FirstOrDefault()?.RootNode is not YamlMappingNode root)
            throw new UserInputException($"{path}: the lock file is empty or not a mapping; see SPEC §5 for the format");

        var f = new YamlFields(root, bag, "", TopKeys);
        var kubernetes = f.Scalar("kubernetes", required: true) ?? "";
        var artifacts = new List<LockArtifact>();
        var list = f.Sequence("artifacts", required: true);
        var seen = new Dictionary<(string, string), Location>();
        for (var i = 0; list is not null && i < list.Children.Count; i++)
        {
            var field = $"artifacts[{i}]";
            if (list.Children[i] is not YamlMappingNode node)
            {
                bag.Error(YamlFields.At(list.Children[i]), field, "must be a mapping (name:, version:, arch:, url:, sha256: or sha512:, ...)");
                continue;
            }
            var artifact = ReadArtifact(new YamlFields(node, bag, field, ArtifactKeys), bag, field);
            if (artifact is null)
                continue;
            if (seen.TryGetValue((artifact.Name, artifact.Arch), out var first))
                bag.Error(artifact.At, $"{field}.name", $"'{artifact.Name}' for {artifact.Arch} is already pinned at line {first.Line}",
                    "allowed: one entry per name and arch");
            else
                seen[(artifact.Name, artifact.Arch)] = artifact.At;
            artifacts.Add(artifact);
        }
        CheckOneSourcePerNodePath(artifacts, bag);
        var images = ReadImages(f, bag);
        bag.ThrowIfErrors();
        return new LockFile(path, kubernetes, artifacts) { Images = images };
    }

    private static LockArtifact? ReadArtifact(YamlFields f, DiagnosticBag bag, string field)
    {
        var errorsBefore = bag.Errors.Count();
        var name = f.Scalar("name", required: true) ?? "";
        if (name.Length > 0 && !ArtifactName().IsMatch(name))
            bag.Error(f.AtValue("name"), f.Field("name"), $"'{name}' is not a valid artifact name", "allowed: lower-case letters, digits, '-' and '.'");
        var version = f.Scalar("version", required: true) ?? "";
        var arch = f.Scalar("arch", required: true) ?? "";
        if (arch.Length > 0 && !Arches.Contains(arch))
            bag.Error(f.AtValue("arch"), f.Field("arch"), $"'{arch}' is not an architecture", $"allowed: {string.Join(", ", Arches)}");

        var url = f.Scalar("url", required: true) ?? "";
        if (url.Length > 0 && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http")))
            bag.Error(f.AtValue("url"), f.Field("url"), $"'{url}' is not an http(s) URL", "allowed: https://host/path/file");

        var kindText = f.Scalar("kind");
        var kind = ArtifactKind.Binary;
        if (kindText is not null && kindText != "source")
            bag.Error(f.AtValue("kind"), f.Field("kind"), $"'{kindText}' is not a kind", "allowed: source (omit the key for shipped binaries)");
        else if (kindText == "source")
            kind = ArtifactKind.Source;

        var (algorithm, checksum) = ReadChecksum(f, bag);

        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        if (f.Mapping("files") is { } map)
        {
            foreach (var (key, value) in map.Children)
            {
                var member = (key as YamlScalarNode)?.Value ?? "";
                var target = (value as YamlScalarNode)?.Value ?? "";
                if (member.Length == 0 || target.Length == 0)
                    bag.Error(YamlFields.At(key), f.Field("files"), "each line must be 'archive/member: /path/on/node'");
                else if (!target.StartsWith('/') || target.Split('/').Contains(".."))
                    bag.Error(YamlFields.At(value), f.Field($"files.{member}"), $"'{target}' is not an absolute node path", "allowed: e.g. /opt/k8s/bin/etcd");
                else
                    files[member] = target;
            }
        }
        var install = f.Scalar("install");
        if (install is not null && (!install.StartsWith('/') || install.Split('/').Contains("..")))
            bag.Error(f.AtValue("install"), f.Field("install"), $"'{install}' is not an absolute node path", "allowed: e.g. /opt/k8s/bin/runc");

        var hasFiles = f.Get("files") is not null;
        if (kind == ArtifactKind.Source)
        {
            if (hasFiles || install is not null)
                bag.Error(f.Location, field, "a source artifact is built by the pipeline", "remove files: and install:");
        }
        else if (hasFiles == (install is not null))
        {
            bag.Error(f.Location, field, hasFiles ? "has both files: and install:" : "says neither which files to take (files:) nor where to install it (install:)",
                "allowed: exactly one of files: (archive member -> node path) or install: (a plain file)");
        }

        if (bag.Errors.Count() > errorsBefore)
            return null;
        return new LockArtifact(name, version, arch, url, algorithm!, checksum!, files, install, kind, f.Location);
    }

    /// <summary>Two artifacts installing the same node path for one arch would make the bundle depend on lock order.</summary>
    private static void CheckOneSourcePerNodePath(List<LockArtifact> artifacts, DiagnosticBag bag)
    {
        foreach (var arch in new[] { Configuration.Arch.Amd64, Configuration.Arch.Arm64 })
        {
            var owners = new Dictionary<string, LockArtifact>(StringComparer.Ordinal);
            foreach (var artifact in artifacts.Where(a => a.Kind == ArtifactKind.Binary && a.AppliesTo(arch)))
            {
                foreach (var nodePath in artifact.NodePaths)
                {
                    if (owners.TryGetValue(nodePath, out var first) && first != artifact)
                        bag.Error(artifact.At, artifact.Name, $"{nodePath} for {Names.Of(arch)} is already provided by '{first.Name}' (line {first.At.Line})",
                            "allowed: each node path comes from exactly one artifact per arch");
                    else
                        owners[nodePath] = artifact;
                }
            }
        }
    }

    private static (string? Algorithm, string? Checksum) ReadChecksum(YamlFields f, DiagnosticBag bag)
    {
        var sha256 = f.Scalar("sha256");
        var sha512 = f.Scalar("sha512");
        if (sha256 is not null && sha512 is not null)
        {
            bag.Error(f.AtValue("sha512"), f.Field("sha512"), "both sha256: and sha512: are given", "allowed: exactly one checksum");
            return (null, null);
        }
        if (sha256 is null && sha512 is null)
        {
            // A pin without a checksum would be fetched unverified: refused, never guessed.
            bag.Error(f.Location, f.Field("sha256"), "no checksum: the artifact is refused, never fetched unverified",
                "allowed: sha256: <64 hex> or sha512: <128 hex>, read from a source independent of the download host (docs/pins.md)");
            return (null, null);
        }
        var (algorithm, value, length) = sha256 is not null ? ("sha256", sha256, 64) : ("sha512", sha512!, 128);
        var normalized = value.ToLowerInvariant();
        if (normalized.Length != length || !LowerHex().IsMatch(normalized))
        {
            bag.Error(f.AtValue(algorithm), f.Field(algorithm), $"'{value}' is not a {algorithm} checksum", $"allowed: {length} hexadecimal digits");
            return (null, null);
        }
        return (algorithm, normalized);
    }

    /// <summary>Artifacts this site needs: binaries for the site's arches, and every source.</summary>
    public IEnumerable<LockArtifact> ArtifactsFor(SiteSpec site)
    {
        ArgumentNullException.ThrowIfNull(site);
        var arches = site.Arches.ToList();
        return Artifacts.Where(a => a.Kind == ArtifactKind.Source || arches.Any(a.AppliesTo));
    }

    /// <summary>
    /// Checks the lock provides, for every arch in the site, every binary the roles of that arch's nodes need
    /// (<see cref="Components.FetchedBinariesFor"/>), and names each one missing.
    /// </summary>
    public void CheckProvides(SiteSpec site)
    {
        ArgumentNullException.ThrowIfNull(site);
        var missing = new List<string>();
        foreach (var arch in site.Arches)
        {
            var provided = Artifacts.Where(a => a.Kind == ArtifactKind.Binary && a.AppliesTo(arch)).SelectMany(a => a.NodePaths).ToHashSet();
            var needed = site.Nodes.Where(n => n.Arch == arch)
                .SelectMany(n => Components.FetchedBinariesFor(n.Roles).Select(p => (Path: p, Node: n.Name)))
                .Where(x => !provided.Contains(x.Path))
                .GroupBy(x => x.Path);
            foreach (var group in needed)
                missing.Add($"  {group.Key} for {Names.Of(arch)} (needed by {string.Join(", ", group.Select(x => x.Node).Distinct())})");
        }
        if (missing.Count > 0)
            throw new UserInputException(
                $"{Path}: the lock does not provide {missing.Count} file(s) the site {site.SourcePath} needs:{Environment.NewLine}" +
                string.Join(Environment.NewLine, missing) + Environment.NewLine +
                "add an artifact with files: or install: for each (SPEC §5), or pass another lock with --pins");
    }
}
