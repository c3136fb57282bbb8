namespace Bundler.Configuration;

/// <summary>The commented example site (<c>sites/example/site.yaml</c>, embedded) that <c>kbundle init</c> writes.</summary>
public static class ExampleSite
{
    public static string Text()
    {
        using var stream = typeof(ExampleSite).Assembly.GetManifestResourceStream("Bundler.example-site.yaml")
            ?? throw new InvalidOperationException("the example site is not embedded in the assembly");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
