namespace Bundler.Tests;

/// <summary>Where test data and the repository live, and scratch folders that clean up after themselves.</summary>
internal static class TestPaths
{
    public static string TestData(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "TestData", .. parts]);

    /// <summary>The repository root (the folder holding Bundler.sln), found upwards from the test binaries.</summary>
    public static string Repository
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Bundler.sln")))
                    return dir.FullName;
            throw new InvalidOperationException("Bundler.sln not found above " + AppContext.BaseDirectory);
        }
    }

    public static string ExampleSite => Path.Combine(Repository, "sites", "example", "site.yaml");
}

/// <summary>A temporary folder deleted at the end of a test.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir(string prefix = "kbundle-test")
    {
        Path = Directory.CreateTempSubdirectory(prefix + "-").FullName;
    }

    public string Path { get; }

    public string File(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>Every file under the folder, relative, sorted: to prove a command wrote nothing.</summary>
    public IReadOnlyList<string> Listing() =>
        Directory.EnumerateFileSystemEntries(Path, "*", SearchOption.AllDirectories)
            .Select(p => System.IO.Path.GetRelativePath(Path, p)).Order(StringComparer.Ordinal).ToList();

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
