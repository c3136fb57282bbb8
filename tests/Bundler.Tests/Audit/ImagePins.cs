using Bundler.Tests.Fetch.Images;
using Bundler.Tests.Packaging;

namespace Bundler.Tests.Audit;

/// <summary>Builds whose SBOM and report must show images.</summary>
internal static class ImagePins
{
    public const string ImageRef = "registry.example.invalid/test/busybox:v1";

    /// <summary>
    /// Makes sure the fixture's lock pins images: when it pins none, one two-platform image (the amd64 site fetches its
    /// amd64 platform), carried in as the mirror's oci/ layout, with a licence and a two-line checksum source.
    /// </summary>
    public static void Ensure(BundleFixture fx)
    {
        if (File.ReadAllText(fx.LockPath).Contains("\nimages:", StringComparison.Ordinal))
            return;
        var layout = OciTestLayout.Build(Path.Combine(fx.Mirror, "oci"), "stand-in image layer"u8.ToArray());
        fx.MoreLock = $"images:\n  - name: busybox\n    ref: {ImageRef}\n    license: GPL-2.0-only\n    digest: {layout.Index}\n" +
                      "    # checksum source: the test built this image layout itself;\n    #   its platform manifests are in OciTestLayout\n";
        fx.RewriteLock();
    }
}
