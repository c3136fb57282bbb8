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

    /// <summary>The upstream OpenPGP detached signature, verified on fetch besides the checksum (SPEC §5); null when the lock names none.</summary>
    public LockSignature? Signature { get; init; }

    /// <summary>The SPDX licence expression the lock names (<c>license: Apache-2.0</c>), for the SBOM; null when it names none.</summary>
    public string? License { get; init; }

    /// <summary>Where the checksum was read, from the entry's reviewed <c># checksum source:</c> comment; null when it has none.</summary>
    public string? ChecksumSource { get; init; }
}

/// <summary>
/// <c>signature: { url: …, keys: [FINGERPRINT, …] }</c>: where the detached signature is, and the primary keys allowed
/// to have made it (or one of their signing subkeys). Each key is the file <c>keys/&lt;FINGERPRINT&gt;.asc</c> beside the lock.
/// </summary>
public sealed record LockSignature(string Url, IReadOnlyList<string> Keys, string KeysDir)
{
    /// <summary>The name the signature has at its URL: mirrors (URL or folder) are looked up by it, like artifacts.</summary>
    public string FileName => Path.GetFileName(Uri.UnescapeDataString(new Uri(Url).AbsolutePath));

    public string KeyFile(string fingerprint) => Path.Combine(KeysDir, fingerprint + ".asc");
}

/// <summary>A validated lock file: the Kubernetes version it pins and its artifacts.</summary>
public sealed partial record LockFile(string Path, string Kubernetes, IReadOnlyList<LockArtifact> Artifacts)
{
    private static readonly string[] TopKeys = ["kubernetes", "artifacts", "images"];
    private static readonly string[] ArtifactKeys = ["name", "version", "arch", "url", "sha256", "sha512", "files", "install", "kind", "signature", "license"];

    /// <summary>The comment that says where an entry's checksum was read (docs/pins.md); carried into the manifest and the report.</summary>
    public const string ChecksumSourceComment = "checksum source";
    private static readonly string[] Arches = ["amd64", "arm64", "any"];

    // Every lock value has a grammar (issue 12 #4): versions, names and paths end up in unit files, manifests and
    // shell variables. \A and \z, never ^ and $: .NET's $ matches before a final newline.
    [GeneratedRegex(@"\A[a-z0-9]([-a-z0-9.]*[a-z0-9])?\z")]
    private static partial Regex ArtifactName();

    [GeneratedRegex(@"\A[0-9a-f]+\z")]
    private static partial Regex LowerHex();

    [GeneratedRegex(@"\A[0-9]+\.[0-9]+\.[0-9]+\z")]
    private static partial Regex KubernetesVersion();

    /// <summary>Upstream versions: 1.36.0, 3.6.14, 1.4.3-rc.1, 2.1.9+ds1.</summary>
    [GeneratedRegex(@"\A[0-9A-Za-z][0-9A-Za-z.+~_-]{0,63}\z")]
    private static partial Regex ArtifactVersion();

    /// <summary>An absolute path on a node: plain segments only (no ., .., spaces or shell characters).</summary>
    [GeneratedRegex(@"\A(/[A-Za-z0-9_+@-][A-Za-z0-9._+@-]*)+\z")]
    private static partial Regex NodePath();

    /// <summary>An archive member as 'tar tf' lists it (an optional leading ./).</summary>
    [GeneratedRegex(@"\A(\./)?[A-Za-z0-9._+@-]+(/[A-Za-z0-9._+@-]+)*\z")]
    private static partial Regex ArchiveMember();

    /// <summary>URL characters of RFC 3986 without the quoting and shell-significant ones ('"$`;()*!\ and spaces).</summary>
    [GeneratedRegex(@"\A[A-Za-z0-9._~:/?#\[\]@&+,=%-]+\z")]
    private static partial Regex UrlCharacters();

    /// <summary>An http(s) URL of URL characters only: what a lock artifact and a site add-on manifest may name.</summary>
    internal static bool IsHttpUrl(string url) =>
        UrlCharacters().IsMatch(url) && Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http";

    private static bool IsNodePath(string path) => NodePath().IsMatch(path) && !path.Split('/').Any(p => p is "." or "..");

    private static bool IsArchiveMember(string member) =>
        ArchiveMember().IsMatch(member) && !member.Split('/').Skip(member.StartsWith("./", StringComparison.Ordinal) ? 1 : 0).Any(p => p is "." or "..");

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
        YamlStream stream;
        try
        {
            stream = SafeYaml.Load(yaml);
        }
        catch (YamlException e)
        {
            bag.Error(new Location((int)e.Start.Line, (int)e.Start.Column), "(syntax)", e.InnerException?.Message ?? e.Message);
            throw new UserInputException(bag.Items);
        }
        if (stream.Documents.FirstOrDefault()?.RootNode is not YamlMappingNode root)
            throw new UserInputException($"{path}: the lock file is empty or not a mapping; see SPEC §5 for the format");

        var f = new YamlFields(root, bag, "", TopKeys);
        var kubernetes = f.Scalar("kubernetes", required: true) ?? "";
        if (kubernetes.Length > 0 && !KubernetesVersion().IsMatch(kubernetes))
            bag.Error(f.AtValue("kubernetes"), "kubernetes", $"'{kubernetes}' is not a Kubernetes version", "allowed: X.Y.Z, e.g. 1.36.0");
        var artifacts = new List<LockArtifact>();
        var list = f.Sequence("artifacts", required: true);
        var seen = new Dictionary<(string, string), Location>();
        var keys = new SignatureKeys(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)) ?? ".", "keys"));
        var comments = new LockComments(yaml);
        for (var i = 0; list is not null && i < list.Children.Count; i++)
        {
            var field = $"artifacts[{i}]";
            if (list.Children[i] is not YamlMappingNode node)
            {
                bag.Error(YamlFields.At(list.Children[i]), field, "must be a mapping (name:, version:, arch:, url:, sha256: or sha512:, ...)");
                continue;
            }
            var fields = new YamlFields(node, bag, field, ArtifactKeys);
            var artifact = ReadArtifact(fields, bag, field);
            var signature = ReadSignature(fields, bag, keys);
            var license = ReadLicense(fields, bag);
            if (artifact is null)
                continue;
            artifact = artifact with { Signature = signature, License = license, ChecksumSource = comments.Read(node, ChecksumSourceComment) };
            if (seen.TryGetValue((artifact.Name, artifact.Arch), out var first))
                bag.Error(artifact.At, $"{field}.name", $"'{artifact.Name}' for {artifact.Arch} is already pinned at line {first.Line}",
                    "allowed: one entry per name and arch");
            else
                seen[(artifact.Name, artifact.Arch)] = artifact.At;
            artifacts.Add(artifact);
        }
        CheckOneSourcePerNodePath(artifacts, bag);
        var images = ReadImages(f, bag, comments);
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
        if (version.Length > 0 && !ArtifactVersion().IsMatch(version))
            bag.Error(f.AtValue("version"), f.Field("version"), $"'{version}' is not a version",
                "allowed: letters, digits and . + ~ _ - (at most 64), starting with a letter or digit, e.g. 3.6.14");
        var arch = f.Scalar("arch", required: true) ?? "";
        if (arch.Length > 0 && !Arches.Contains(arch))
            bag.Error(f.AtValue("arch"), f.Field("arch"), $"'{arch}' is not an architecture", $"allowed: {string.Join(", ", Arches)}");

        var url = f.Scalar("url", required: true) ?? "";
        if (url.Length > 0 && !IsHttpUrl(url))
            bag.Error(f.AtValue("url"), f.Field("url"), $"'{url}' is not an http(s) URL",
                "allowed: https://host/path/file with URL characters only (percent-encode anything else)");

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
                else if (!IsArchiveMember(member))
                    bag.Error(YamlFields.At(key), f.Field("files"), $"'{Printable(member)}' is not an archive member path",
                        "allowed: a relative path of letters, digits and . _ + @ - segments, e.g. kubernetes/server/bin/kube-apiserver");
                else if (!IsNodePath(target))
                    bag.Error(YamlFields.At(value), f.Field($"files.{member}"), $"'{Printable(target)}' is not an absolute node path",
                        "allowed: /segment/segment of letters, digits and . _ + @ -, e.g. /opt/k8s/bin/etcd");
                else
                    files[member] = target;
            }
        }
        var install = f.Scalar("install");
        if (install is not null && !IsNodePath(install))
            bag.Error(f.AtValue("install"), f.Field("install"), $"'{install}' is not an absolute node path",
                "allowed: /segment/segment of letters, digits and . _ + @ -, e.g. /opt/k8s/bin/runc");

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

    /// <summary><c>license:</c> of an artifact or image: an SPDX expression of listed ids (<see cref="SpdxLicense"/>), or null when absent.</summary>
    private static string? ReadLicense(YamlFields f, DiagnosticBag bag)
    {
        var license = f.Scalar("license");
        if (license is not null && SpdxLicense.Check(license) is var (problem, allowed))
        {
            bag.Error(f.AtValue("license"), f.Field("license"), problem, allowed);
            return null;
        }
        return license;
    }

    [GeneratedRegex("^[0-9A-F]{40}$")]
    private static partial Regex Fingerprint();

    /// <summary>
    /// <c>signature:</c> of one artifact: an http(s) URL and at least one key, each a v4 fingerprint (40 upper-case hex
    /// digits) whose file <c>keys/&lt;FINGERPRINT&gt;.asc</c> exists beside the lock and holds exactly that key.
    /// </summary>
    private static LockSignature? ReadSignature(YamlFields artifact, DiagnosticBag bag, SignatureKeys keys)
    {
        if (artifact.Get("signature") is null)
            return null;
        var map = artifact.Mapping("signature");
        if (map is null)
        {
            bag.Error(artifact.AtValue("signature"), artifact.Field("signature"), "is empty", "allowed: { url: https://…/file.asc, keys: [FINGERPRINT] }");
            return null;
        }
        var errorsBefore = bag.Errors.Count();
        var f = new YamlFields(map, bag, artifact.Field("signature"), ["url", "keys"]);
        var url = f.Scalar("url", required: true) ?? "";
        if (url.Length > 0 && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || uri.AbsolutePath.EndsWith('/')))
            bag.Error(f.AtValue("url"), f.Field("url"), $"'{url}' is not an http(s) URL of a file", "allowed: https://host/path/file.asc");

        var fingerprints = new List<string>();
        var list = f.Sequence("keys", required: true);
        if (list is not null && list.Children.Count == 0)
            bag.Error(f.AtValue("keys"), f.Field("keys"), "lists no key", "allowed: one or more fingerprints whose keys/<FINGERPRINT>.asc sits beside the lock");
        for (var i = 0; list is not null && i < list.Children.Count; i++)
        {
            var node = list.Children[i];
            var field = f.Field($"keys[{i}]");
            var text = (node as YamlScalarNode)?.Value ?? "";
            if (!Fingerprint().IsMatch(text))
            {
                var hint = Fingerprint().IsMatch(text.ToUpperInvariant()) ? $"write it in upper case: {text.ToUpperInvariant()}"
                    : "allowed: the primary key's fingerprint, 40 upper-case hex digits without spaces (gpg --with-colons --fingerprint)";
                bag.Error(YamlFields.At(node), field, $"'{text}' is not an OpenPGP fingerprint", hint);
            }
            else if (fingerprints.Contains(text))
                bag.Error(YamlFields.At(node), field, $"{text} is listed twice");
            else if (keys.Problem(text) is { } problem)
                bag.Error(YamlFields.At(node), field, problem, $"allowed: keys/<FINGERPRINT>.asc beside the lock holding that public key (gpg --export --armor FINGERPRINT); docs/pins.md");
            else
                fingerprints.Add(text);
        }
        return bag.Errors.Count() > errorsBefore ? null : new LockSignature(url, fingerprints, keys.Dir);
    }

    /// <summary>The lock's keys/ folder; each key file is read once per lock however many artifacts name it.</summary>
    private sealed class SignatureKeys(string dir)
    {
        private readonly Dictionary<string, string?> _problems = new(StringComparer.Ordinal);

        public string Dir => dir;

        public string? Problem(string fingerprint)
        {
            if (_problems.TryGetValue(fingerprint, out var known))
                return known;
            var file = System.IO.Path.Combine(dir, fingerprint + ".asc");
            string? problem = null;
            if (!File.Exists(file))
                problem = $"no key file {file}";
            else
            {
                try
                {
                    var key = Fetch.OpenPgpKeyFile.Load(file);
                    if (key.Fingerprint != fingerprint)
                        problem = $"{file} holds key {key.Fingerprint}, not the key its name says";
                }
                catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
                {
                    problem = $"{file}: {e.Message}";
                }
            }
            return _problems[fingerprint] = problem;
        }
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

    /// <summary>A value as it may appear in a message: control characters shown as \uXXXX, never raw.</summary>
    private static string Printable(string value) =>
        string.Concat(value.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));

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

    /// <summary>Artifact name → version (the first entry of a name), for the comments at the top of each rendered file.</summary>
    public IReadOnlyDictionary<string, string> Versions =>
        Artifacts.DistinctBy(a => a.Name).ToDictionary(a => a.Name, a => a.Version, StringComparer.Ordinal);

    /// <summary>Artifacts this site needs: binaries for the site's arches, and every source.</summary>
    public IEnumerable<LockArtifact> ArtifactsFor(SiteSpec site)
    {
        ArgumentNullException.ThrowIfNull(site);
        var arches = site.Arches.ToList();
        return Artifacts.Where(a => a.Kind == ArtifactKind.Source || arches.Any(a.AppliesTo));
    }

    /// <summary>
    /// Checks the lock provides, for every arch in the site, every binary the roles of that arch's nodes need
    /// (<see cref="ComponentTable.FetchedBinariesFor"/>), and names each one missing.
    /// </summary>
    public void CheckProvides(SiteSpec site)
    {
        ArgumentNullException.ThrowIfNull(site);
        var missing = new List<string>();
        foreach (var arch in site.Arches)
        {
            var provided = Artifacts.Where(a => a.Kind == ArtifactKind.Binary && a.AppliesTo(arch)).SelectMany(a => a.NodePaths).ToHashSet();
            var needed = site.Nodes.Where(n => n.Arch == arch)
                .SelectMany(n => ComponentTable.FetchedBinariesFor(n.Roles).Select(p => (Path: p, Node: n.Name)))
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
