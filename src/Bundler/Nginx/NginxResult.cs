using Bundler.Configuration;

namespace Bundler.Nginx;

/// <summary>How kube-nginx was built, for the manifest (SPEC §2).</summary>
public sealed record NginxProvenance(string Version, string SourceSha256, IReadOnlyList<string> ConfigureArguments, string Compiler, string BinarySha256);

/// <summary>What the nginx step hands on: the static kube-nginx binary per arch, and how it was built.</summary>
public sealed record NginxResult(IReadOnlyDictionary<Arch, string> Binaries, NginxProvenance Provenance)
{
    public string BinaryFor(Arch arch) =>
        Binaries.TryGetValue(arch, out var path) ? path : throw new InvalidOperationException($"no kube-nginx built for {Names.Of(arch)}");
}
