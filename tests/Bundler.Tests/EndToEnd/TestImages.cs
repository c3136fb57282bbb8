using Bundler.Tests.Fetch.Images;

namespace Bundler.Tests.EndToEnd;

/// <summary>
/// The end-to-end lock's images, built by the test into one OCI layout (what <c>skopeo copy --all … oci:DIR/oci</c>
/// would carry in): each a two-platform index whose linux/amd64 layer is the real static busybox. The sandbox and CoreDNS
/// images are TEST STAND-INS under names of their own (the real ones cannot be pulled here); busybox is the site's own
/// image (<c>images: [busybox]</c>) that the test runs with runc on the CNI network.
/// </summary>
internal sealed record TestImages(OciTestLayout Pause, OciTestLayout CoreDns, OciTestLayout Busybox)
{
    public const string PauseRef = "kbundle-e2e.invalid/stand-in/pause:3.10.2";
    public const string CoreDnsRef = "kbundle-e2e.invalid/stand-in/coredns:v1.14.2";
    public const string BusyboxRef = "kbundle-e2e.invalid/test/busybox:1.35";

    public static TestImages Build(string layout)
    {
        var busybox = File.ReadAllBytes(OciTestLayout.Busybox);
        // Bytes of their own (a trailer after the ELF changes nothing busybox does), so each image has its own digests.
        byte[] Marked(string what) => [.. busybox, .. System.Text.Encoding.UTF8.GetBytes($"\nTEST STAND-IN for {what}\n")];
        return new TestImages(
            OciTestLayout.Build(layout, Marked("registry.k8s.io/pause"), ["/bin/busybox", "sleep", "2147483647"], "TEST STAND-IN for registry.k8s.io/pause (sleeps)"),
            OciTestLayout.Build(layout, Marked("registry.k8s.io/coredns/coredns"), ["/bin/busybox", "sleep", "2147483647"], "TEST STAND-IN for registry.k8s.io/coredns/coredns"),
            OciTestLayout.Build(layout, busybox));
    }

    public string PinnedPause => $"{PauseRef.Split(':')[0]}@{Pause.Index}";
    public string PinnedCoreDns => $"{CoreDnsRef.Split(':')[0]}@{CoreDns.Index}";
    public string PinnedBusybox => $"{BusyboxRef.Split(':')[0]}@{Busybox.Index}";

    public string LockEntries =>
        "images:\n" +
        $"  - name: pause\n    ref: {PauseRef}\n    digest: {Pause.Index}\n" +
        $"  - name: coredns\n    ref: {CoreDnsRef}\n    digest: {CoreDns.Index}\n" +
        $"  - name: busybox\n    ref: {BusyboxRef}\n    digest: {Busybox.Index}\n";
}
