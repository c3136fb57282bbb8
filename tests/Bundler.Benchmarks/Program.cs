// The benchmark suite (./build.sh --target Bench [--filter NAME]). Each benchmark prints its goal as a ratio
// against an anchor measured in the same run, so numbers from different machines stay comparable.
using Bundler.Benchmarks;

var filter = args.FirstOrDefault();
var ran = false;
if (filter is null || FetchVerifyBenchmark.Name.Contains(filter, StringComparison.OrdinalIgnoreCase))
{
    await FetchVerifyBenchmark.RunAsync(Console.Out);
    ran = true;
}
if (!ran)
{
    Console.Error.WriteLine($"no benchmark matches '{filter}'; available: {FetchVerifyBenchmark.Name}");
    return 2;
}
return 0;
