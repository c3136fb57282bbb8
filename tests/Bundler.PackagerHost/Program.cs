using Bundler.PackagerHost;
using Bundler.Tests.Packaging;

// Usage: Bundler.PackagerHost ROOT                      build the fixture's bundles into ROOT/artifacts (SIGKILL test)
//        Bundler.PackagerHost bench ROOT NODES MIB      issue 8's packaging benchmark (docs/benchmarks.md)
if (args is ["bench", var root, var nodes, var mib])
    return await PackagingBench.RunAsync(root, int.Parse(nodes, System.Globalization.CultureInfo.InvariantCulture), long.Parse(mib, System.Globalization.CultureInfo.InvariantCulture));
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: Bundler.PackagerHost ROOT | bench ROOT NODES MIB");
    return 2;
}
var fixture = new BundleFixture(args[0]);
await fixture.BuildAsync();
Console.WriteLine("built");
return 0;
