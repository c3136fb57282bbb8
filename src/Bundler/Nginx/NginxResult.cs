using Bundler.Configuration;

namespace Bundler.Nginx;

/// <summary>
/// How one arch's kube-nginx was built, for the manifest (SPEC §2): the source, the configure arguments, the
/// compiler and its target triplet, and for a cross build the emulator that ran configure's test programs and
/// the shims that routed them to it (name and sha256).
/// </summary>
public sealed record NginxProvenance(
    Arch Arch,
    string Version,
    string SourceSha256,
    IReadOnlyList<string> ConfigureArguments,
    string Compiler,
    string Target,
    string? Emulator,
    IReadOnlyList<ConfigureShim> ConfigureShims,
    string BinarySha256);

/// <summary>One arch's static kube-nginx binary and how it was built.</summary>
public sealed record NginxBuild(string Binary, NginxProvenance Provenance);

/// <summary>What the nginx step hands on: one build per arch of the site.</summary>
public sealed record NginxResult(IReadOnlyDictionary<Arch, NginxBuild> Builds)
{
    public NginxBuild For(Arch arch) =>
        Builds.TryGetValue(arch, out var build) ? build : throw new InvalidOperationException($"no kube-nginx built for {Names.Of(arch)}");

    public string BinaryFor(Arch arch) => For(arch).Binary;

    /// <summary>How each arch's kube-nginx was built, in arch order: the manifest's <c>kubeNginx</c>.</summary>
    public IReadOnlyList<NginxProvenance> Provenances => Builds.OrderBy(b => b.Key).Select(b => b.Value.Provenance).ToList();
}
