using System.Diagnostics;
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
    [Fact]
    public void GivenAMembersServerPair_WhenEtcdServesWithClientCertAuth_ThenTheHealthcheckClientIsHealthyAndAKubeletCertIsRefused()
    {
        using var fixture = new PkiFixture();
        fixture.Ensure(PkiFixture.Site());
        var s = fixture.StateDir;
        int clientPort = FreePort(), peerPort = FreePort();
        var member = Path.Combine(s, "nodes/k8s-01/etcd");
        var info = new ProcessStartInfo("etcd") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[]
                 {
                     "--name", "k8s-01", "--data-dir", Path.Combine(fixture.Root, "etcd-data"),
                     "--listen-client-urls", $"https://127.0.0.1:{clientPort}", "--advertise-client-urls", $"https://127.0.0.1:{clientPort}",
                     "--listen-peer-urls", $"https://127.0.0.1:{peerPort}", "--initial-advertise-peer-urls", $"https://127.0.0.1:{peerPort}",
                     "--initial-cluster", $"k8s-01=https://127.0.0.1:{peerPort}",
                     "--cert-file", Path.Combine(member, "server.crt"), "--key-file", Path.Combine(member, "server.key"),
                     "--peer-cert-file", Path.Combine(member, "peer.crt"), "--peer-key-file", Path.Combine(member, "peer.key"),
                     "--trusted-ca-file", Path.Combine(s, "etcd/ca.crt"), "--peer-trusted-ca-file", Path.Combine(s, "etcd/ca.crt"),
                     "--client-cert-auth", "--peer-client-cert-auth",
                 })
            info.ArgumentList.Add(arg);
        using var etcd = Process.Start(info)!;
        var log = new System.Text.StringBuilder();
        etcd.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        etcd.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        etcd.BeginErrorReadLine();
        etcd.BeginOutputReadLine();
        try
        {
            var endpoint = $"https://127.0.0.1:{clientPort}";
            (int Code, string Output) health = (-1, "");
            for (var attempt = 0; attempt < 60 && health.Code != 0; attempt++)
            {
                Assert.False(etcd.HasExited, "etcd exited: " + log);
                health = Etcdctl(endpoint, Path.Combine(s, "etcd/ca.crt"), Path.Combine(s, "etcd/healthcheck-client.crt"), Path.Combine(s, "etcd/healthcheck-client.key"));
                if (health.Code != 0)
                    Thread.Sleep(500);
            }
            Assert.True(health.Code == 0, health.Output + log);
            Assert.Contains("is healthy", health.Output);

            var refused = Etcdctl(endpoint, Path.Combine(s, "etcd/ca.crt"), Path.Combine(s, "nodes/k8s-04/kubelet.crt"), Path.Combine(s, "nodes/k8s-04/kubelet.key"));
            Assert.NotEqual(0, refused.Code);
        }
        finally
        {
            etcd.Kill(entireProcessTree: true);
            etcd.WaitForExit();
        }
    }

    private static (int Code, string Output) Etcdctl(string endpoint, string ca, string cert, string key)
    {
        var info = new ProcessStartInfo("etcdctl") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["ETCDCTL_API"] = "3";
        foreach (var arg in new[] { "--endpoints", endpoint, "--cacert", ca, "--cert", cert, "--key", key, "--dial-timeout", "2s", "--command-timeout", "3s", "endpoint", "health" })
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
