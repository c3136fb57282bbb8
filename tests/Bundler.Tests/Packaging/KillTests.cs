using System.Globalization;
using Bundler.Inspection;
using Bundler.Packaging;
using Xunit;

namespace Bundler.Tests.Packaging;

/// <summary>A build killed with SIGKILL at random moments never leaves a file that looks finished.</summary>
public sealed class KillTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kbundle-kill-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static string HostDll() =>
        AppContext.BaseDirectory.Replace($"{Path.DirectorySeparatorChar}Bundler.Tests{Path.DirectorySeparatorChar}", $"{Path.DirectorySeparatorChar}Bundler.PackagerHost{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
        + "Bundler.PackagerHost.dll";

    private RunningProcess Start(bool newKubelet = true) =>
        ProcessRunner.Start("dotnet", [HostDll(), _root, .. newKubelet ? ["--new-kubelet"] : Array.Empty<string>()],
            environment: new Dictionary<string, string> { ["SOURCE_DATE_EPOCH"] = BundleFixture.Epoch.ToString(CultureInfo.InvariantCulture) });

    [Fact]
    public async Task GivenABuildKilledAtRandomMoments_ThenNoFinishedLookingPartialArtifactAndTheRerunSucceeds()
    {
        Assert.True(File.Exists(HostDll()), HostDll());
        // A finished build first: the state (CA, keys) exists, so the killed builds below rewrite bundles, not keys.
        using (var first = Start(newKubelet: false))
        {
            var built = await first.WaitAsync();
            Assert.True(built.Succeeded, built.StandardError);
        }
        var random = new Random(8);
        var killed = 0;
        for (var i = 0; i < 10; i++)
        {
            using var child = Start();
            await Task.Delay(random.Next(30, 400));
            if (!child.HasExited)
            {
                child.Kill();   // SIGKILL: no finally blocks, no flush.
                killed++;
            }
            await child.WaitAsync();
            AssertNothingLooksFinishedButIsNot();
        }

        using (var rerun = Start())
        {
            var built = await rerun.WaitAsync();
            Assert.True(built.Succeeded, built.StandardError);
        }
        var checks = Verifier.Verify(Path.Combine(_root, "artifacts"));
        Assert.All(checks, c => Assert.True(c.Ok, $"{c.Subject}: {c.Detail}"));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_root, "artifacts"), AtomicFile.TempPattern));
        Assert.True(killed > 0, "no run was killed before it finished; the test proved nothing");
    }

    /// <summary>Whole or absent: every visible .run is self-consistent, manifest.json parses, and SHA256SUMS (the "done" mark) only over a verified folder.</summary>
    private void AssertNothingLooksFinishedButIsNot()
    {
        var dir = Path.Combine(_root, "artifacts");
        if (!Directory.Exists(dir))
            return;
        foreach (var run in Directory.EnumerateFiles(dir, "*.run"))
            Assert.Empty(BundleReader.Open(run).Problems());
        var manifest = Path.Combine(dir, "manifest.json");
        if (File.Exists(manifest))
            BundleManifest.Parse(File.ReadAllBytes(manifest), manifest);
        if (File.Exists(Path.Combine(dir, "SHA256SUMS")))
            Assert.All(Verifier.Verify(dir), c => Assert.True(c.Ok, $"{c.Subject}: {c.Detail}"));
    }
}
