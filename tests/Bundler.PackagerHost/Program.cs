using Bundler.Tests.Packaging;

// Usage: Bundler.PackagerHost ROOT — builds the fixture's bundles into ROOT/artifacts (cache and state beside it).
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: Bundler.PackagerHost ROOT");
    return 2;
}
var fixture = new BundleFixture(args[0]);
await fixture.BuildAsync();
Console.WriteLine("built");
return 0;
