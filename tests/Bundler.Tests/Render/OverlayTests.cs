using Bundler.Layout;
using Bundler.Render;
using Xunit;

namespace Bundler.Tests.Render;

[Collection(RenderCollection.Name)]
public sealed class OverlayTests(RenderFixture fixture)
{
    [Fact]
    public void GivenAnOverlayReplacingOneTemplate_WhenRendered_ThenOnlyThatFileChangesOnEveryNode()
    {
        var overlay = Directory.CreateTempSubdirectory("kbundle-overlay-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(overlay, "system"));
            File.WriteAllText(Path.Combine(overlay, "system", "sysctl.conf.sbn"), "# site sysctls for {{ node.name }}\nnet.ipv4.ip_forward = 1\n");
            var changed = fixture.RenderWith(overlay);
            foreach (var tree in fixture.Result.Nodes)
            {
                var before = Texts(tree);
                var after = Texts(changed.Nodes.Single(n => n.Node == tree.Node));
                Assert.Equal(before.Keys.Order(), after.Keys.Order());
                var differing = before.Keys.Where(k => before[k] != after[k] && !HoldsFreshCredentials(k)).ToList();
                Assert.Equal([NodePaths.Sysctl], differing);
                Assert.Equal($"# site sysctls for {tree.Node}\nnet.ipv4.ip_forward = 1\n", after[NodePaths.Sysctl]);
            }
        }
        finally
        {
            Directory.Delete(overlay, recursive: true);
        }
    }

    [Fact]
    public void GivenAnOverlayFileThatReplacesNothing_WhenOpened_ThenTheErrorNamesItAndTheAllowedNames()
    {
        var overlay = Directory.CreateTempSubdirectory("kbundle-overlay-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(overlay, "sysctl.conf.sbn"), "x");
            var e = Assert.Throws<UserInputException>(() => TemplateSet.Open(RenderFixture.ShippedTemplates, overlay));
            Assert.Contains("sysctl.conf.sbn replaces no shipped template", e.Message, StringComparison.Ordinal);
            Assert.Contains("system/sysctl.conf.sbn", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(overlay, recursive: true);
        }
    }

    [Fact]
    public void GivenAnOverlayWithAMisspeltValue_WhenRendered_ThenTheErrorNamesTheTemplateFile()
    {
        var overlay = Directory.CreateTempSubdirectory("kbundle-overlay-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(overlay, "system"));
            File.WriteAllText(Path.Combine(overlay, "system", "sysctl.conf.sbn"), "# sysctls\n{{ node.nmae }}\n");
            var e = Assert.Throws<UserInputException>(() => fixture.RenderWith(overlay));
            Assert.StartsWith(Path.Combine(overlay, "system", "sysctl.conf.sbn") + ":2:9: ", e.Message, StringComparison.Ordinal);
            Assert.Contains("nmae", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(overlay, recursive: true);
        }
    }

    [Fact]
    public void GivenAnOverlayWrittenForTheHandlebarsTemplates_WhenOpened_ThenTheErrorSaysHowToConvertIt()
    {
        var overlay = Directory.CreateTempSubdirectory("kbundle-overlay-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(overlay, "system"));
            File.WriteAllText(Path.Combine(overlay, "system", "sysctl.conf.hbs"), "{{#each modules}}{{this}}{{/each}}\n");
            var e = Assert.Throws<UserInputException>(() => TemplateSet.Open(RenderFixture.ShippedTemplates, overlay));
            Assert.Contains("system/sysctl.conf.hbs replaces no shipped template", e.Message, StringComparison.Ordinal);
            Assert.Contains("rename *.hbs to *.sbn", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(overlay, recursive: true);
        }
    }

    [Fact]
    public void GivenAnOverlayOfTheInstaller_WhenOpened_ThenItIsAcceptedAndTheBundleHeaderCarriesIt()
    {
        var overlay = Directory.CreateTempSubdirectory("kbundle-overlay-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(overlay, "installer"));
            File.WriteAllText(Path.Combine(overlay, "installer", "main.sh"), "echo site-specific installer\n");

            var set = TemplateSet.Open(RenderFixture.ShippedTemplates, overlay);

            Assert.Equal(Path.Combine(overlay, "installer", "main.sh"), set.PathOf("installer/main.sh"));
            Assert.Contains("site-specific installer", Bundler.Packaging.BundleHeader.LoadTemplate(overlay), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(overlay, recursive: true);
        }
    }

    // The test PKI issues fresh keys per call: PKI files differ between two renders by construction, not by the overlay.
    private static bool HoldsFreshCredentials(string path) => path.StartsWith(NodePaths.PkiDir + "/", StringComparison.Ordinal);

    private static Dictionary<string, string?> Texts(NodeTree tree) =>
        tree.Files.ToDictionary(f => f.Path, f => f.Content is null ? f.SourceFile : System.Text.Encoding.UTF8.GetString(f.Content));
}
