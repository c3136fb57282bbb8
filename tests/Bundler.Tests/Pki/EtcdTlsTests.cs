using System.Net;
using System.Net.Sockets;
using Xunit;

namespace Bundler.Tests.Pki;

/// <summary>
/// The etcd rows against a real etcd (Debian's etcd-server, installed by .ci/run): the server pair serves TLS
/// with client-certificate auth, the health-check client is accepted, a cluster-CA client is refused.
/// </summary>
public sealed class EtcdTlsTests
{
    [ToolFact("etcd", "etcdctl")]
    public void GivenAMembersServerPair_WhenEtcdServesWithClientCertAuth_ThenTheHealthcheckClientIsHealthyAndAKubeletCertIsRefused()
    {
        using var fixture = new PkiFixture();
        fixture.Ensure(PkiFixture.Site());
        var s = fixture.StateDir;
        int clientPort = FreePort(), peerPort = FreePort();
        var member = Path.Combine(s, "nodes/k8s-01/etcd");
        using var etcd = ProcessRunner.Start("etcd",
                 [
                     "--name", "k8s-01", "--data-dir", Path.Combine(fixture.Root, "etcd-data"),
                     "--listen-client-urls", $"https://127.0.0.1:{clientPort}", "--advertise-client-urls", $"https://127.0.0.1:{clientPort}",
                     "--listen-peer-urls", $"https://127.0.0.1:{peerPort}", "--initial-advertise-peer-urls", $"https://127.0.0.1:{peerPort}",
                     "--initial-cluster", $"k8s-01=https://127.0.0.1:{peerPort}",
                     "--cert-file", Path.Combine(member, "server.crt"), "--key-file", Path.Combine(member, "server.key"),
                     "--peer-cert-file", Path.Combine(member, "peer.crt"), "--peer-key-file", Path.Combine(member, "peer.key"),
                     "--trusted-ca-file", Path.Combine(s, "etcd/ca.crt"), "--peer-trusted-ca-file", Path.Combine(s, "etcd/ca.crt"),
                     "--client-cert-auth", "--peer-client-cert-auth",
                 ]);
        var endpoint = $"https://127.0.0.1:{clientPort}";
        (int Code, string Output) health = (-1, "");
        for (var attempt = 0; attempt < 60 && health.Code != 0; attempt++)
        {
            Assert.False(etcd.HasExited, "etcd exited: " + etcd.OutputSoFar);
            health = Etcdctl(endpoint, Path.Combine(s, "etcd/ca.crt"), Path.Combine(s, "etcd/healthcheck-client.crt"), Path.Combine(s, "etcd/healthcheck-client.key"));
            if (health.Code != 0)
                Thread.Sleep(500);
        }
        Assert.True(health.Code == 0, health.Output + etcd.OutputSoFar);
        Assert.Contains("is healthy", health.Output);

        var refused = Etcdctl(endpoint, Path.Combine(s, "etcd/ca.crt"), Path.Combine(s, "nodes/k8s-04/kubelet.crt"), Path.Combine(s, "nodes/k8s-04/kubelet.key"));
        Assert.NotEqual(0, refused.Code);
    }

    private static (int Code, string Output) Etcdctl(string endpoint, string ca, string cert, string key)
    {
        var result = ProcessRunner.RunAsync("etcdctl",
            ["--endpoints", endpoint, "--cacert", ca, "--cert", cert, "--key", key, "--dial-timeout", "2s", "--command-timeout", "3s", "endpoint", "health"],
            environment: new Dictionary<string, string> { ["ETCDCTL_API"] = "3" }).GetAwaiter().GetResult();
        return (result.ExitCode, result.StandardOutput + result.StandardError);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
