using System.Security.Cryptography;
using Bundler.Tests.Packaging;

// Usage: Bundler.PackagerHost ROOT [--new-kubelet]
// Builds the packaging fixture's bundles into ROOT/artifacts (the SIGKILL test's child). --new-kubelet first pins a
// kubelet with other bytes, so the build rewrites every worker bundle.
if (args.Length is < 1 or > 2 || (args.Length == 2 && args[1] != "--new-kubelet"))
{
    Console.Error.WriteLine("usage: Bundler.PackagerHost ROOT [--new-kubelet]");
    return 2;
}
var fixture = new BundleFixture(args[0]);
if (args.Length == 2)
{
    var kubelet = Path.Combine(args[0], $"kubelet-{Guid.NewGuid():N}");
    File.WriteAllBytes(kubelet, [.. File.ReadAllBytes(BundleFixture.StandIns["kubelet"]), .. RandomNumberGenerator.GetBytes(16)]);
    fixture.ReplaceUpstream("kubelet", kubelet);
}
await fixture.BuildAsync();
Console.WriteLine("built");
return 0;
