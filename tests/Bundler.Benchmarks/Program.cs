// The benchmark suite (./build.sh --target Bench [--filter NAME]). Every goal is printed on a "GOAL" line as a
// ratio against an anchor measured in the same run on the same machine (openssl genrsa, tar | pigz, sha256sum,
// tar xzf), so numbers from different machines stay comparable. Results: docs/benchmarks.md.
using Bundler.Benchmarks;

var filter = args.FirstOrDefault();
bool Selected(string name) => filter is null || name.Contains(filter, StringComparison.OrdinalIgnoreCase);
string[] names = [FetchVerifyBenchmark.Name, PkiBenchmark.Name, PackagingBenchmark.Name, ImagesBenchmark.Name];
if (!names.Any(Selected))
{
    Console.Error.WriteLine($"no benchmark matches '{filter}'; available: {string.Join(", ", names)}");
    return 2;
}
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}");
if (Selected(FetchVerifyBenchmark.Name))
    await FetchVerifyBenchmark.RunAsync(Console.Out);
if (Selected(PkiBenchmark.Name))
    await PkiBenchmark.RunAsync();
if (Selected(PackagingBenchmark.Name))
{
    var root = Directory.CreateTempSubdirectory("kbundle-bench-pkg-").FullName;
    try { await PackagingBenchmark.RunAsync(root, nodes: 50, megabytes: 400); }
    finally { Directory.Delete(root, recursive: true); }
}
if (Selected(ImagesBenchmark.Name))
{
    var root = Directory.CreateTempSubdirectory("kbundle-bench-images-").FullName;
    try { await ImagesBenchmark.RunAsync(root, nodes: 50, imageMegabytes: 312, binaryMegabytes: 300); }
    finally { Directory.Delete(root, recursive: true); }
}
return 0;
