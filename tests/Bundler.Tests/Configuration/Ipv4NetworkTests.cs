using System.Net;
using Bundler.Configuration;

namespace Bundler.Tests.Configuration;

public class Ipv4NetworkTests
{
    [Theory]
    [InlineData("10.254.0.0/16", true)]
    [InlineData("0.0.0.0/0", true)]
    [InlineData("10.254.0.1/16", false)]
    [InlineData("10.254.0.0", false)]
    [InlineData("10.254.0/16", false)]
    [InlineData("10.254.0.0/x", false)]
    [InlineData("010.254.0.0/16", false)]
    [InlineData("256.0.0.0/8", false)]
    public void GivenNetworkTexts_WhenParsed_ThenOnlyMaskedDottedQuadsAreAccepted(string text, bool valid)
    {
        Assert.Equal(valid, Ipv4Network.TryParse(text, out _, out _));
    }

    [Fact]
    public void GivenTwoNetworks_WhenCompared_ThenOverlapAndContainmentFollowTheShorterPrefix()
    {
        var a = Ipv4Network.Parse("10.0.0.0/8");
        var b = Ipv4Network.Parse("10.20.0.0/16");
        var c = Ipv4Network.Parse("11.0.0.0/8");
        Assert.True(a.Overlaps(b));
        Assert.True(b.Overlaps(a));
        Assert.False(a.Overlaps(c));
        Assert.True(b.Contains(IPAddress.Parse("10.20.255.255")));
        Assert.False(b.Contains(IPAddress.Parse("10.21.0.0")));
    }

    [Fact]
    public void GivenANetwork_WhenSubnetsAreTaken_ThenTheyAreCountedFromItsStart()
    {
        var pod = Ipv4Network.Parse("172.30.0.0/16");
        Assert.Equal("172.30.0.0/24", pod.Subnet(24, 0).ToString());
        Assert.Equal("172.30.255.0/24", pod.Subnet(24, 255).ToString());
        Assert.Throws<ArgumentOutOfRangeException>(() => pod.Subnet(24, 256));
        Assert.Equal("10.254.0.10", Ipv4Network.Parse("10.254.0.0/16").AddressAt(10).ToString());
    }
}
