// The build behind build.sh / build.ps1 (Cake; `./build.sh --help` lists targets and options).
// Cake options (--dryrun, --tree, --description, --verbosity, --exclusive) work as everywhere else.
using System.Xml.Linq;

const string Usage = """
    ./build.sh [--target TARGET] [--configuration Release|Debug] [--no-build] [options]
    Targets:
      Bundle   (default) kbundle build --site FILE (default sites/example/site.yaml); every other option is
               passed on to 'kbundle build': --pins FILE --mirror URL|DIR (repeatable) --cache DIR --state DIR
               --out DIR --until STEP --templates DIR --offline --renew --json ...
      Test     builds, runs every test; the last line is 'N passed, N failed, N skipped'
      Publish  single-file kbundle under artifacts/publish/<rid> (--runtime RID; default linux-x64,
               linux-arm64 and win-x64)
      Bench    the benchmark suite (--filter fetch-verify|pki|packaging|images)
      Clean    deletes bin/ and obj/ of every project and artifacts/
    --no-build reuses what is built (Bundle, Test). Exit code: the failed step's own (kbundle's 2 or 4 are kept).
    Cake's options: --dryrun, --tree, --description, --verbosity LEVEL, --exclusive, --invalidate-script-cache.
    """;

if (HasArgument("usage"))   // build.sh / build.ps1 turn --help into --usage: Cake keeps --help for its own
{
    Console.WriteLine(Usage);
    return;
}

var root = MakeAbsolute(Directory(".."));   // Cake starts in build/; user paths are relative to the repository
Context.Environment.WorkingDirectory = root;

var target = Argument("target", "Bundle");
var configuration = Argument("configuration", "Release");
var solution = root.CombineWithFilePath("Bundler.sln");
var artifacts = root.Combine("artifacts");

// Options this script reads itself; every other one goes to 'kbundle build', so a new kbundle option needs no change
// here. Names with '_' are Cake configuration (e.g. --settings_enablescriptcache=true) and stay with Cake.
var own = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    { "target", "configuration", "no-build", "site", "runtime", "filter", "usage", "invalidate-script-cache" };

string testCounts = null;

Task("Clean")
    .Description("Deletes bin/ and obj/ of every project and artifacts/")
    .Does(() =>
{
    var outputs = GetDirectories($"{root}/src/*/bin").Concat(GetDirectories($"{root}/src/*/obj"))
        .Concat(GetDirectories($"{root}/tests/*/bin")).Concat(GetDirectories($"{root}/tests/*/obj"));
    DeleteDirectories(outputs, new DeleteDirectorySettings { Recursive = true, Force = true });
    EnsureDirectoryDoesNotExist(artifacts, new DeleteDirectorySettings { Recursive = true, Force = true });
});

Task("Compile")
    .Description("Builds the solution")
    .WithCriteria(() => !HasArgument("no-build"), "--no-build")   // the end-to-end test runs Bundle from inside a test run
    .Does(() =>
{
    DotNetBuild(solution.FullPath, new DotNetBuildSettings { Configuration = configuration, NoLogo = true, Verbosity = DotNetVerbosity.Minimal });
});

Task("Test")
    .Description("Runs every test; prints 'N passed, N failed, N skipped' last")
    .IsDependentOn("Compile")
    .Does(() =>
{
    var results = artifacts.Combine("test-results");
    EnsureDirectoryDoesNotExist(results, new DeleteDirectorySettings { Recursive = true, Force = true });
    var exitCode = 0;
    DotNetTest(solution.FullPath, new DotNetTestSettings
    {
        Configuration = configuration,
        NoBuild = true,
        NoLogo = true,
        Loggers = { "trx;LogFileName=tests.trx", "console;verbosity=normal" },
        ResultsDirectory = results,
        HandleExitCode = code => { exitCode = code; return true; },   // the TRX counters are the verdict
    });
    int passed = 0, failed = 0, skipped = 0;
    // One UnitTestResult per test: the TRX <Counters> leave skipped tests out of notExecuted.
    var outcomes = GetFiles($"{results}/**/*.trx")
        .SelectMany(trx => XDocument.Load(trx.FullPath).Descendants().Where(e => e.Name.LocalName == "UnitTestResult"))
        .Select(e => (string)e.Attribute("outcome"));
    foreach (var outcome in outcomes)
    {
        if (outcome == "Passed")
            passed++;
        else if (outcome == "NotExecuted")
            skipped++;
        else
            failed++;   // Failed, Error, Timeout, Aborted, ...
    }
    testCounts = $"{passed} passed, {failed} failed, {skipped} skipped";
    if (exitCode != 0 || failed > 0 || passed == 0)
        throw new CakeException($"tests failed: {testCounts} (dotnet test exit {exitCode})");
});

Task("Bundle")
    .Description("Builds the bundles of --site FILE (default sites/example/site.yaml) with kbundle build")
    .IsDependentOn("Compile")
    .Does(() =>
{
    var cli = root.CombineWithFilePath($"src/Bundler.Cli/bin/{configuration}/net10.0/kbundle.dll");
    if (!FileExists(cli))
        throw new CakeException(2, $"{cli} is not built ({configuration}); run without --no-build");
    var site = Argument("site", "sites/example/site.yaml");
    var arguments = new ProcessArgumentBuilder().Append("build").AppendQuoted(site);
    foreach (var (name, values) in Context.Arguments.GetArguments().Where(a => !own.Contains(a.Key) && !a.Key.Contains('_')))
    {
        foreach (var value in values)
        {
            arguments.Append($"--{name}");   // a switch (--offline) has no value
            if (value is not null)
                arguments.AppendQuoted(value);
        }
    }
    Information("> dotnet {0} {1}", root.GetRelativePath(cli), arguments.Render());
    var exitCode = 0;
    DotNetExecute(cli, arguments, new DotNetExecuteSettings { HandleExitCode = code => { exitCode = code; return true; } });
    if (exitCode != 0)
        throw new CakeException(exitCode, $"kbundle build exited with code {exitCode}");
});

Task("Publish")
    .Description("Single-file kbundle for linux-x64, linux-arm64 and win-x64 (or --runtime RID) under artifacts/publish/")
    .Does(() =>
{
    var runtimes = HasArgument("runtime") ? new[] { Argument<string>("runtime") } : new[] { "linux-x64", "linux-arm64", "win-x64" };
    foreach (var rid in runtimes)
    {
        DotNetPublish(root.CombineWithFilePath("src/Bundler.Cli/Bundler.Cli.csproj").FullPath, new DotNetPublishSettings
        {
            Configuration = configuration,
            Runtime = rid,
            SelfContained = true,
            PublishSingleFile = true,
            IncludeNativeLibrariesForSelfExtract = true,
            OutputDirectory = artifacts.Combine($"publish/{rid}"),
            NoLogo = true,
        });
    }
});

Task("Bench")
    .Description("The benchmark suite (--filter NAME): every goal as a ratio against an anchor run in the same process")
    .Does(() =>
{
    var arguments = new ProcessArgumentBuilder();
    if (HasArgument("filter"))
        arguments.AppendQuoted(Argument<string>("filter"));
    DotNetRun(root.CombineWithFilePath("tests/Bundler.Benchmarks/Bundler.Benchmarks.csproj").FullPath, arguments,
        new DotNetRunSettings { Configuration = "Release" });
});

if (configuration is not ("Release" or "Debug"))   // kbundle.dll is looked up under bin/<configuration>/
    throw new CakeException(2, $"--configuration {configuration}: allowed are Release and Debug");
if (!Tasks.Any(t => t.Name.Equals(target, StringComparison.OrdinalIgnoreCase)))
    throw new CakeException(2, $"unknown target '{target}'; targets: {string.Join(", ", Tasks.Select(t => t.Name).Order())}");

// RunTarget prints Cake's task table. A failed task's exit code is kept (kbundle's 2 = bad input, 4 = integrity),
// and after a test run the count is the very last line, after any error: CI reads it.
var (failureCode, failure) = (0, (string)null);
try
{
    RunTarget(target);
}
catch (CakeReportException e)
{
    (failureCode, failure) = ((e.InnerException as CakeException)?.ExitCode ?? 1, e.Message);
}
if (testCounts is null)
{
    if (failureCode != 0)
        throw new CakeException(failureCode, failure);
}
else
{
    if (failureCode != 0)
        Error("Error: {0}", failure);
    Console.Out.Flush();
    Console.Error.Flush();
    Console.WriteLine(testCounts);
    if (failureCode != 0)
        Environment.Exit(failureCode);   // throwing would print Cake's "Error:" line after the count
}
