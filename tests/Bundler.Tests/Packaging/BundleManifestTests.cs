using System.Text.Json;
using Bundler.Configuration;
using Bundler.Nginx;
using Bundler.Packaging;
using Xunit;

namespace Bundler.Tests.Packaging;

public sealed class BundleManifestTests
{
    [Fact]
    public void GivenKubeNginxBuiltForTwoArches_WhenWritingTheManifest_ThenKubeNginxListsOneEntryPerArchAndReadsBack()
    {
        var shims = new List<ConfigureShim> { new("cc", new string('c', 64)), new("uname", new string('d', 64)) };
        var nginx = new NginxResult(new Dictionary<Arch, NginxBuild>
        {
            [Arch.Arm64] = new("/cache/nginx/b/kube-nginx", new NginxProvenance(Arch.Arm64, "1.22.1", new string('9', 64), NginxBuilder.ConfigureArguments,
                "aarch64-linux-gnu-gcc (Debian 12.2.0-14) 12.2.0", "aarch64-linux-gnu", "qemu-aarch64 version 7.2.22", shims, new string('b', 64))),
            [Arch.Amd64] = new("/cache/nginx/a/kube-nginx", new NginxProvenance(Arch.Amd64, "1.22.1", new string('9', 64), NginxBuilder.ConfigureArguments,
                "cc (Debian 12.2.0-14+deb12u1) 12.2.0", "x86_64-linux-gnu", null, [], new string('a', 64))),
        });
        var manifest = new BundleManifest(BundleManifest.CurrentFormat, "0.1.0", new SiteRecord("mixed", "1.36.0", new string('5', 64)), 0, [],
            nginx.Provenances, []);

        var bytes = manifest.ToBytes();

        using var json = JsonDocument.Parse(bytes);
        var entries = json.RootElement.GetProperty("kubeNginx").EnumerateArray().ToList();
        Assert.Equal(["amd64", "arm64"], entries.Select(e => e.GetProperty("arch").GetString()));
        Assert.Equal(["x86_64-linux-gnu", "aarch64-linux-gnu"], entries.Select(e => e.GetProperty("target").GetString()));
        Assert.False(entries[0].TryGetProperty("emulator", out _), "a native build ran no emulator");
        Assert.Equal(0, entries[0].GetProperty("configureShims").GetArrayLength());
        Assert.Equal("qemu-aarch64 version 7.2.22", entries[1].GetProperty("emulator").GetString());
        Assert.Equal(["cc", "uname"], entries[1].GetProperty("configureShims").EnumerateArray().Select(s => s.GetProperty("name").GetString()));
        Assert.Equal(new string('b', 64), entries[1].GetProperty("binarySha256").GetString());
        Assert.Equal(2, json.RootElement.GetProperty("formatVersion").GetInt32());
        var back = BundleManifest.Parse(bytes, "manifest.json");
        Assert.Equal([Arch.Amd64, Arch.Arm64], back.KubeNginx!.Select(e => e.Arch));
        Assert.Equal(new ConfigureShim("uname", new string('d', 64)), back.KubeNginx![1].ConfigureShims[1]);
    }
}
