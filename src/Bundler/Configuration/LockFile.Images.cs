using YamlDotNet.RepresentationModel;

namespace Bundler.Configuration;

/// <summary>
/// One pinned container image (SPEC §7): a name the site refers to, the reference it is known by, and the
/// sha256 digest of the bytes it must be (a multi-arch index or a single-platform manifest).
/// </summary>
public sealed record LockImage(string Name, ImageReference Reference, string Digest, Location At)
{
    /// <summary>The normalized reference without the digest, e.g. <c>registry.k8s.io/pause:3.10.2</c>.</summary>
    public string Ref => Reference.TagName ?? Reference.Name;

    /// <summary><c>name@digest</c>: how manifests refer to the image, so a node resolves exactly the pinned bytes.</summary>
    public string PinnedRef => Reference.DigestName(Digest);

    public override string ToString() => $"{Name} ({Ref}@{Digest})";

    /// <summary>The SPDX licence expression the lock names, for the SBOM; null when it names none.</summary>
    public string? License { get; init; }

    /// <summary>Where the digest was read, from the entry's <c># checksum source:</c> comment; null when it has none.</summary>
    public string? ChecksumSource { get; init; }
}

// The images: section (SPEC §7), kept apart from the artifacts: parser.
public sealed partial record LockFile
{
    private static readonly string[] ImageKeys = ["name", "ref", "digest", "license"];

    /// <summary>Every pinned image, in lock order; empty when the lock has no <c>images:</c>.</summary>
    public IReadOnlyList<LockImage> Images { get; init; } = [];

    public LockImage? FindImage(string name) => Images.FirstOrDefault(i => i.Name == name);

    /// <summary>The sandbox image: every node that runs a kubelet needs it, whatever the site says.</summary>
    public const string SandboxImage = "pause";

    /// <summary>
    /// The images every node running a kubelet carries (SPEC §7), in lock order: the sandbox image, each built-in
    /// add-on's image (CoreDNS), the images each add-on names, and the site's own <c>images:</c>. Nothing else is
    /// fetched or shipped. Call <see cref="CheckImages"/> first: it names what the lock lacks.
    /// </summary>
    public IReadOnlyList<LockImage> ImagesFor(SiteSpec site)
    {
        ArgumentNullException.ThrowIfNull(site);
        var names = new HashSet<string>(StringComparer.Ordinal) { SandboxImage };
        foreach (var addon in site.Addons)
        {
            if (addon.IsBuiltIn)
                names.Add(addon.Name);
            names.UnionWith(addon.Images.Select(i => i.Name));
        }
        names.UnionWith(site.Images.Select(i => i.Name));
        return Images.Where(i => names.Contains(i.Name)).ToList();
    }

    /// <summary>
    /// Every image the site uses is pinned: the sandbox image, the image of each built-in add-on, and each name the
    /// site's <c>images:</c> and its add-ons list. Problems are reported at once, with the site file's line for the
    /// names it wrote; exit 2.
    /// </summary>
    public void CheckImages(SiteSpec site)
    {
        ArgumentNullException.ThrowIfNull(site);
        var bag = new DiagnosticBag(site.SourcePath);
        var allowed = Images.Count == 0
            ? "pin it in the lock's images: (docs/images.md); the lock has none"
            : $"allowed: a name from the lock's images: ({string.Join(", ", Images.Select(i => i.Name))}); or pin it there (docs/images.md)";
        void Need(string name, Location at, string field, string why)
        {
            if (FindImage(name) is null)
                bag.Error(at, field, $"{why} '{name}', which the lock {Path} does not pin", allowed);
        }
        Need(SandboxImage, Location.None, "nodes", "every node that runs a kubelet needs the sandbox image");
        for (var i = 0; i < site.Addons.Length; i++)
        {
            var addon = site.Addons[i];
            if (addon.IsBuiltIn)
                Need(addon.Name, addon.At, $"addons[{i}]", $"the built-in add-on {addon.Name} needs the image");
            foreach (var image in addon.Images)
                Need(image.Name, image.At, image.Field, "names the image");
        }
        foreach (var image in site.Images)
            Need(image.Name, image.At, image.Field, "names the image");
        bag.ThrowIfErrors();
    }

    private static List<LockImage> ReadImages(YamlFields top, DiagnosticBag bag, LockComments comments)
    {
        var images = new List<LockImage>();
        var list = top.Sequence("images");
        var seen = new Dictionary<string, Location>(StringComparer.Ordinal);
        for (var i = 0; list is not null && i < list.Children.Count; i++)
        {
            var field = $"images[{i}]";
            if (list.Children[i] is not YamlMappingNode node)
            {
                bag.Error(YamlFields.At(list.Children[i]), field, "must be a mapping (name:, ref:, digest:)");
                continue;
            }
            var fields = new YamlFields(node, bag, field, ImageKeys);
            var image = ReadImage(fields, bag);
            var license = ReadLicense(fields, bag);
            if (image is null)
                continue;
            image = image with { License = license, ChecksumSource = comments.Read(node, ChecksumSourceComment) };
            if (seen.TryGetValue(image.Name, out var first))
                bag.Error(image.At, $"{field}.name", $"'{image.Name}' is already pinned at line {first.Line}", "allowed: one entry per image name");
            else
                seen[image.Name] = image.At;
            images.Add(image);
        }
        return images;
    }

    private static LockImage? ReadImage(YamlFields f, DiagnosticBag bag)
    {
        var errorsBefore = bag.Errors.Count();
        var name = f.Scalar("name", required: true) ?? "";
        if (name.Length > 0 && !ArtifactName().IsMatch(name))
            bag.Error(f.AtValue("name"), f.Field("name"), $"'{name}' is not a valid image name", "allowed: lower-case letters, digits, '-' and '.'");

        var text = f.Scalar("ref", required: true);
        ImageReference? reference = null;
        if (text is not null)
        {
            reference = ImageReference.TryParse(text, out var problem);
            if (reference is null)
                bag.Error(f.AtValue("ref"), f.Field("ref"), $"'{Printable(text)}' is not an image reference: {problem}",
                    "allowed: registry/repository[:tag], e.g. registry.k8s.io/pause:3.10.2");
        }

        var digest = f.Scalar("digest");
        if (digest is null)
        {
            // A tag can be moved to other bytes at any time: an image is fetched by digest or not at all.
            bag.Error(f.Location, f.Field("digest"), $"{(text is null ? "the image" : $"'{Printable(text)}'")} has no digest: a tag alone is refused",
                "allowed: digest: sha256:<64 lower-case hex> of the multi-arch index or single-platform manifest, read from a source independent of the registry (docs/pins.md)");
        }
        else if (!ImageReference.IsDigest(digest))
        {
            bag.Error(f.AtValue("digest"), f.Field("digest"), $"'{Printable(digest)}' is not a sha256 digest", "allowed: sha256: and 64 lower-case hexadecimal digits");
        }
        else if (reference?.Digest is { } inRef && inRef != digest)
        {
            bag.Error(f.AtValue("ref"), f.Field("ref"), $"names digest {inRef}, but digest: is {digest}", "allowed: the same digest in both, or none in ref:");
        }

        if (bag.Errors.Count() > errorsBefore || reference is null || digest is null)
            return null;
        return new LockImage(name, reference with { Digest = null }, digest, f.Location);
    }
}
