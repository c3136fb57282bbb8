using Bundler.Configuration;
using System.Security.Cryptography.X509Certificates;
using Bundler.Layout;
using Xunit;
using Xunit.Abstractions;

namespace Bundler.Tests.Render;

/// <summary>The real tools accept what we render: systemd-analyze, kubectl, containerd.</summary>
[Collection(RenderCollection.Name)]
public sealed class ToolAcceptanceTests(RenderFixture fixture, ITestOutputHelper output)
{
    [ToolFact("systemd-analyze", "cp")]
    public void GivenEveryRenderedUnit_WhenSystemdAnalyzeVerifiesItInARootWithItsBinaries_ThenItReportsNothing()
    {
        foreach (var tree in fixture.Result.Nodes)
        {
            var root = Directory.CreateTempSubdirectory("kbundle-units-").FullName;
            try
            {
                // verify needs the system's targets (multi-user, network-online) and every ExecStart binary in the root.
                Run("cp", ["-a", "/usr/lib/systemd/system", Path.Combine(root, "usr/lib/systemd")], mkdir: Path.Combine(root, "usr/lib/systemd"));
                // Host tools the units call (present on every Debian host, not shipped in the bundle).
                var hostTools = new[] { "/bin/kill", "/sbin/modprobe" }.Select(t => new NodeFile(t, NodeFile.Executable, FileKind.Binary));
                foreach (var file in tree.Files.Concat(hostTools))
                {
                    var target = Path.Combine(root, file.Path.TrimStart('/'));
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    if (file.Kind == FileKind.Binary || file.Mode == NodeFile.Executable)
                    {
                        File.WriteAllText(target, "#!/bin/sh\n");
                        if (!OperatingSystem.IsWindows())
                            File.SetUnixFileMode(target, NodeFile.Executable);
                    }
                    else
                        // The image archive is written by the package step: render hands on no bytes for it.
                        File.WriteAllBytes(target, file.Content ?? []);
                }
                // A timer row's .timer and the service it starts.
                var units = tree.Units.SelectMany(u => u.EndsWith(".timer", StringComparison.Ordinal) ? [u, u[..^".timer".Length] + ".service"] : new[] { u + ".service" }).ToList();
                var (code, text) = Run("systemd-analyze", ["verify", "--man=no", $"--root={root}", .. units]);
                output.WriteLine($"{tree.Node}: {string.Join(" ", units)} -> {code} {text}");
                Assert.True(code == 0 && text.Trim().Length == 0, $"{tree.Node}: systemd-analyze verify: {text}");
            }
            finally
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    [ToolFact("kubectl")]
    public void GivenEveryRenderedKubeconfig_WhenKubectlReadsIt_ThenItIsAcceptedAndTheEmbeddedCertificateNamesTheComponent()
    {
        var dir = Directory.CreateTempSubdirectory("kbundle-kubeconfig-").FullName;
        try
        {
            var count = 0;
            foreach (var (node, file) in fixture.Rendered().Where(r => r.File.Kind == FileKind.Kubeconfig))
            {
                var path = Path.Combine(dir, $"{node}-{Path.GetFileName(file.Path)}");
                File.WriteAllBytes(path, file.Content!);
                var (viewCode, view) = Run("kubectl", ["config", "view", "--kubeconfig", path, "--raw", "-o", "jsonpath={.users[0].user.client-certificate-data}"]);
                Assert.True(viewCode == 0, $"{node} {file.Path}: kubectl config view: {view}");
                var (contextsCode, contexts) = Run("kubectl", ["config", "get-contexts", "--kubeconfig", path]);
                Assert.True(contextsCode == 0 && contexts.Contains('*'), $"{node} {file.Path}: kubectl config get-contexts: {contexts}");

                var identity = Path.GetFileNameWithoutExtension(file.Path);
                var (cn, groups) = ExpectedSubject(identity, fixture.Site.Node(node));
                using var cert = X509Certificate2.CreateFromPem(System.Text.Encoding.ASCII.GetString(Convert.FromBase64String(view.Trim())));
                Assert.Equal(cn, cert.GetNameInfo(X509NameType.SimpleName, false));
                foreach (var group in groups)
                    Assert.Contains($"O={group}", cert.Subject, StringComparison.Ordinal);
                count++;
            }
            // Masters: admin, controller-manager, scheduler, and (nodes too, SPEC §7) kubelet and kube-proxy; the first
            // master super-admin; workers kubelet and kube-proxy.
            Assert.Equal(3 * 5 + 1 + 2 * 2, count);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [ToolFact("containerd")]
    public void GivenTheRenderedContainerdConfig_WhenRealContainerdDumpsIt_ThenItIsAccepted()
    {
        var dir = Directory.CreateTempSubdirectory("kbundle-containerd-").FullName;
        try
        {
            var path = Path.Combine(dir, "config.toml");
            File.WriteAllBytes(path, fixture.Tree("k8s-04").Files.Single(f => f.Path == NodePaths.ContainerdConfig).Content!);
            // Debian's containerd is 1.6 (config version 2): it parses the file as TOML and ignores the 2.x plugin IDs,
            // so this proves the syntax; the version 3 keys are proven against the 2.x key list (ReferenceListTests).
            var (code, text) = Run("containerd", ["--config", path, "config", "dump"]);
            Assert.True(code == 0, $"containerd config dump: {text}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static (int Code, string Output) Run(string file, string[] args, string? mkdir = null)
    {
        if (mkdir is not null)
            Directory.CreateDirectory(mkdir);
        var result = ProcessRunner.RunAsync(file, args).GetAwaiter().GetResult();
        return (result.ExitCode, result.StandardOutput + result.StandardError);
    }

    /// <summary>What each kubeconfig identity must be (pki-spec §1b), written independently of the PKI table.</summary>
    private static (string Cn, string[] Groups) ExpectedSubject(string identity, NodeSpec node) => identity switch
    {
        "admin" => ("kubernetes-admin", ["kubeadm:cluster-admins"]),
        "super-admin" => ("kubernetes-super-admin", ["system:masters"]),
        "controller-manager" => ("system:kube-controller-manager", []),
        "scheduler" => ("system:kube-scheduler", []),
        "kube-proxy" => ("system:kube-proxy", []),
        "kubelet" => ($"system:node:{node.Name}", ["system:nodes"]),
        _ => throw new ArgumentOutOfRangeException(nameof(identity), identity, "unknown identity"),
    };
}
