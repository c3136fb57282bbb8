using System.Xml.Linq;

namespace Build.Tasks;

[TaskName("Clean")]
public sealed class CleanTask : FrostingTask<BuildContext>
{
    public override Task RunAsync(BuildContext context)
    {
        foreach (var dir in new[] { "src", "tests" }.SelectMany(d => Directory.EnumerateDirectories(Path.Combine(context.Root, d))))
        {
            foreach (var sub in new[] { "bin", "obj" })
            {
                var path = Path.Combine(dir, sub);
                if (Directory.Exists(path))
                    Directory.Delete(path, recursive: true);
            }
        }
        if (Directory.Exists(context.ArtifactsDir))
            Directory.Delete(context.ArtifactsDir, recursive: true);
        return Task.CompletedTask;
    }
}

[TaskName("Compile")]
public sealed class CompileTask : FrostingTask<BuildContext>
{
    /// <summary><c>--no-build</c> reuses what is built (the end-to-end tests run Bundle from inside a test run).</summary>
    public override bool ShouldRun(BuildContext context) => !context.HasArgument("no-build");

    public override Task RunAsync(BuildContext context)
    {
        context.Dotnet("build", context.Solution, "-c", context.Configuration, "-nologo", "-v", "minimal");
        return Task.CompletedTask;
    }
}

/// <summary>Runs every test; prints "N passed, N failed, N skipped" last, read from the TRX results.</summary>
[TaskName("Test")]
[IsDependentOn(typeof(CompileTask))]
public sealed class TestTask : FrostingTask<BuildContext>
{
    public override Task RunAsync(BuildContext context)
    {
        var results = Path.Combine(context.ArtifactsDir, "test-results");
        if (Directory.Exists(results))
            Directory.Delete(results, recursive: true);
        var code = context.Run("dotnet",
            ["test", context.Solution, "-c", context.Configuration, "--no-build", "-nologo",
             "--logger", "trx;LogFileName=tests.trx", "--logger", "console;verbosity=normal", "--results-directory", results],
            throwOnError: false);
        var (passed, failed, skipped) = Count(results);
        context.TestSummary = $"{passed} passed, {failed} failed, {skipped} skipped";
        if (code != 0 || failed > 0 || passed == 0)
            throw new BuildFailedException($"tests failed: {context.TestSummary} (dotnet test exit {code})");
        return Task.CompletedTask;
    }

    private static (int Passed, int Failed, int Skipped) Count(string directory)
    {
        int passed = 0, failed = 0, skipped = 0;
        if (!Directory.Exists(directory))
            return (0, 0, 0);
        foreach (var file in Directory.EnumerateFiles(directory, "*.trx", SearchOption.AllDirectories))
        {
            var counters = XDocument.Load(file).Descendants().FirstOrDefault(e => e.Name.LocalName == "Counters");
            if (counters is null)
                continue;
            int Read(string name) => int.TryParse(counters.Attribute(name)?.Value, out var v) ? v : 0;
            passed += Read("passed");
            failed += Read("failed") + Read("error") + Read("timeout") + Read("aborted");
            skipped += Read("notExecuted");
        }
        return (passed, failed, skipped);
    }
}

/// <summary>Builds the bundles of a site (default: sites/example/site.yaml) with kbundle build.</summary>
[TaskName("Bundle")]
[IsDependentOn(typeof(CompileTask))]
public sealed class BundleTask : FrostingTask<BuildContext>
{
    private static readonly string[] PassThrough = ["pins", "mirror", "cache", "state", "out", "until", "templates"];
    private static readonly string[] Switches = ["offline", "renew", "json"];

    public override Task RunAsync(BuildContext context)
    {
        var site = context.Argument("site") ?? Path.Combine("sites", "example", "site.yaml");
        var arguments = new List<string> { context.Cli, "build", site };
        foreach (var name in PassThrough)
        {
            if (context.Arguments.TryGetValue(name, out var values))
                foreach (var v in values)
                    arguments.AddRange([$"--{name}", v]);
        }
        arguments.AddRange(Switches.Where(context.HasArgument).Select(s => $"--{s}"));
        var code = context.Run("dotnet", arguments, throwOnError: false);
        if (code != 0)
            throw new BuildFailedException($"kbundle build exited with code {code}");
        return Task.CompletedTask;
    }
}

/// <summary>Single-file kbundle for linux-x64, linux-arm64 and win-x64 under artifacts/publish/.</summary>
[TaskName("Publish")]
public sealed class PublishTask : FrostingTask<BuildContext>
{
    public override Task RunAsync(BuildContext context)
    {
        var runtimes = context.Argument("runtime") is { } one ? [one] : new[] { "linux-x64", "linux-arm64", "win-x64" };
        foreach (var rid in runtimes)
        {
            context.Dotnet("publish", Path.Combine("src", "Bundler.Cli", "Bundler.Cli.csproj"), "-c", context.Configuration, "-r", rid,
                "--self-contained", "true", "-p:PublishSingleFile=true", "-p:IncludeNativeLibrariesForSelfExtract=true",
                "-o", Path.Combine(context.ArtifactsDir, "publish", rid), "-nologo");
        }
        return Task.CompletedTask;
    }
}

/// <summary>The benchmark suite: each goal printed as a ratio against an anchor measured in the same run.</summary>
[TaskName("Bench")]
public sealed class BenchTask : FrostingTask<BuildContext>
{
    public override Task RunAsync(BuildContext context)
    {
        var project = Path.Combine("tests", "Bundler.Benchmarks", "Bundler.Benchmarks.csproj");   // prints one GOAL line per goal
        if (!File.Exists(Path.Combine(context.Root, project)))
            throw new BuildFailedException("the benchmark suite (tests/Bundler.Benchmarks) is not built yet");
        var arguments = new List<string> { "run", "-c", "Release", "--project", project, "--" };
        if (context.Argument("filter") is { } filter)
            arguments.Add(filter);
        context.Run("dotnet", arguments);
        return Task.CompletedTask;
    }
}
