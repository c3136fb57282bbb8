using Bundler.Tests.Packaging;

// Usage: Bundler.PackagerHost ROOT      build the packaging fixture's bundles into ROOT/artifacts (the SIGKILL test's child)
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: Bundler.PackagerHost ROOT");
    return 2;
}
var fixture = new BundleFixture(args[0]);
await fixture.BuildAsync();
Console.WriteLine("built");
return 0;
