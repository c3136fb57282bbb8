using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Layout;
using Bundler.Packaging;
using Bundler.Pipeline;
using Bundler.Pki;
using Bundler.Render;
using Bundler.Signing;

namespace Bundler.Tests.Packaging;

/// <summary>
/// A small real build for the packaging tests: a three-node site, real ELF files from /usr/bin as the
/// binaries, real certificates and a real ECDSA signing key. Render and PKI are other steps: their outputs
/// are built here the way those steps hand them on (the contracts), the package and sign steps are real.
/// </summary>
public sealed class BundleFixture : IDisposable
{
    public const long Epoch = 1_767_225_600; // 2026-01-01T00:00:00Z

    public BundleFixture(string? root = null)
    {
        Root = root ?? Directory.CreateTempSubdirectory("kbundle-pkg-").FullName;
        BinDir = Path.Combine(Root, "upstream");
        Directory.CreateDirectory(BinDir);
        foreach (var (name, source) in Binaries)
            File.Copy(source, Path.Combine(BinDir, name), overwrite: true);
        var data = Path.Combine(AppContext.BaseDirectory, "TestData", "Packaging");
        var pins = PinCatalog.FromFile(Path.Combine(data, "pins.yaml"));
        SitePath = Path.Combine(data, "site.yaml");
        Site = SiteLoader.Load(SitePath, pins).Site;
        Pki = new TestPki(Site);
    }

    /// <summary>Node binary name → a real ELF file to stand in for it.</summary>
    public static readonly IReadOnlyList<(string Name, string Source)> Binaries =
    [
        ("etcd", "/usr/bin/ls"), ("etcdctl", "/usr/bin/cat"), ("kube-apiserver", "/usr/bin/tar"), ("kube-controller-manager", "/usr/bin/cp"),
        ("kube-scheduler", "/usr/bin/mv"), ("kubectl", "/usr/bin/env"), ("kubelet", "/usr/bin/sort"), ("kube-proxy", "/usr/bin/head"),
        ("containerd", "/usr/bin/tail"), ("kube-nginx", "/usr/bin/sha256sum"),
    ];

    public string Root { get; }
    public string BinDir { get; }
    public string SitePath { get; }
    public SiteSpec Site { get; }
    public TestPki Pki { get; }

    /// <summary>Changes what render hands on, to make a "newer" build.</summary>
    public Func<NodeSpec, IEnumerable<NodeFile>, IEnumerable<NodeFile>> Tweak { get; set; } = (_, files) => files;

    public string Out(string name = "artifacts") => Path.Combine(Root, name);

    public string Cache => Path.Combine(Root, "cache");

    public string State => Path.Combine(Root, "state");

    public RenderResult Render() => new(Site.Nodes.Select(n => new NodeTree(n.Name, Tweak(n, FilesFor(n)).ToList(), Components.UnitsFor(n.Roles))).ToList());

    public IEnumerable<NodeFile> FilesFor(NodeSpec node)
    {
        var units = Components.UnitsFor(node.Roles);
        var binaries = new List<string> { "kube-nginx" };
        if (node.Is(Roles.Etcd)) binaries.AddRange(["etcd", "etcdctl"]);
        if (node.Is(Roles.Master)) binaries.AddRange(["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"]);
        if (node.Is(Roles.Worker)) binaries.AddRange(["kubelet", "kube-proxy", "containerd"]);
        foreach (var b in binaries)
            yield return NodeFile.Binary(NodePaths.Bin(b), Path.Combine(BinDir, b), b.StartsWith("kube", StringComparison.Ordinal) ? "kubernetes-server" : b);
        foreach (var f in Pki.PkiFilesFor(node))
            yield return f;
        foreach (var unit in units)
            yield return NodeFile.Text(NodePaths.Unit(unit), $"[Unit]\nDescription={unit}\n\n[Service]\nExecStart={NodePaths.Bin(unit)}\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n", FileKind.Unit);
        yield return NodeFile.Text(NodePaths.Sysctl, "net.ipv4.ip_forward = 1\nnet.bridge.bridge-nf-call-iptables = 1\n", FileKind.Config);
        yield return NodeFile.Text(NodePaths.ModulesLoad, "overlay\nbr_netfilter\n", FileKind.Config);
        yield return NodeFile.Text(NodePaths.NginxConf, $"stream {{ upstream apiservers {{ server {Site.FirstMaster.Ip}:6443; }} server {{ listen 127.0.0.1:8443; proxy_pass apiservers; }} }}\n", FileKind.Config);
        var kubeconfig = node.Is(Roles.Master) ? "admin" : "kubelet";
        var credential = Pki.ClientCredential(kubeconfig, node);
        yield return NodeFile.Text(NodePaths.Kubeconfig(kubeconfig),
            "apiVersion: v1\nkind: Config\nclusters:\n- name: lab\n  cluster:\n    server: https://127.0.0.1:8443\n" +
            $"    certificate-authority-data: {B64(Pki.CaCertificatePem)}\nusers:\n- name: u\n  user:\n" +
            $"    client-certificate-data: {B64(credential.CertificatePem)}\n    client-key-data: {B64(credential.KeyPem)}\n", FileKind.Kubeconfig);
    }

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>Runs the real package and sign steps into <paramref name="outDir"/>.</summary>
    public async Task<BuildContext> BuildAsync(string? outDir = null)
    {
        var options = new BuildOptions { SitePath = SitePath, OutDir = outDir ?? Out(), CacheDir = Cache, StateDir = State };
        var context = new BuildContext(Site, "pins.yaml", options, new RecordingReporter());
        context.Set(Render());
        context.Set<IPkiResult>(Pki);
        context.Set(new FetchResult([new ArtifactRecord("kubernetes-server", "1.36.0", "amd64", "https://dl.k8s.io/v1.36.0/kubernetes-server-linux-amd64.tar.gz", "sha512", new string('a', 128))],
            new Dictionary<(Arch, string), FetchedFile>()));
        await new PackageStep().RunAsync(context, CancellationToken.None);
        await new SignStep().RunAsync(context, CancellationToken.None);
        return context;
    }

    /// <summary>
    /// The real PKI, render, package and sign steps (only the upstream binaries are stand-ins), with the PKI state in
    /// <see cref="State"/>: what a user's build writes, for tests about what leaves the build (secrets, diffs).
    /// </summary>
    public async Task<BuildContext> BuildWithRealStepsAsync(string outDir, bool renew = false)
    {
        var options = new BuildOptions { SitePath = SitePath, OutDir = outDir, CacheDir = Cache, StateDir = State, Renew = renew };
        var context = new BuildContext(Site, "pins.yaml", options, new RecordingReporter());
        var pki = PkiStore.Ensure(Site, State, renew, context.Reporter);
        var fetched = new Dictionary<(Arch, string), FetchedFile>();
        foreach (var path in Components.FetchedBinariesFor(Roles.Etcd | Roles.Master | Roles.Worker))
            fetched[(Arch.Amd64, path)] = new FetchedFile(Path.Combine(BinDir, "kubectl"), "stand-in");
        var nginx = new Bundler.Nginx.NginxResult(new Dictionary<Arch, Bundler.Nginx.NginxBuild>
        {
            [Arch.Amd64] = new(Path.Combine(BinDir, "kube-nginx"), new Bundler.Nginx.NginxProvenance(Arch.Amd64, "1.22.1", "", [], "", "", null, [], "")),
        });
        var templates = TemplateSet.Open(ToolPaths.Find("bundle-templates"));
        context.Set<IPkiResult>(pki);
        context.Set(new FetchResult([], fetched));
        context.Set(RenderStep.Render(Site, templates, new Dictionary<string, string>(), pki, context.Get<FetchResult>(), nginx));
        await new PackageStep().RunAsync(context, CancellationToken.None);
        await new SignStep().RunAsync(context, CancellationToken.None);
        return context;
    }

    public static (int Code, string Out, string Err) Run(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null, string? workDir = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workDir ?? "/" };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
            info.Environment[k] = v;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>A PKI result with a real (ECDSA, for speed) CA, leaves and signing key; fixed once per fixture so rebuilds match.</summary>
public sealed class TestPki : IPkiResult
{
    private readonly SiteSpec _site;
    private readonly Dictionary<string, (string Cert, string Key)> _issued = [];
    private readonly X509Certificate2 _ca;
    private readonly ECDsa _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public TestPki(SiteSpec site)
    {
        _site = site;
        var request = new CertificateRequest("CN=kubernetes", _caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        _ca = request.CreateSelfSigned(DateTimeOffset.FromUnixTimeSeconds(BundleFixture.Epoch), DateTimeOffset.FromUnixTimeSeconds(BundleFixture.Epoch).AddYears(10));
        using var signing = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        SigningKeyPem = signing.ExportPkcs8PrivateKeyPem();
    }

    public string CaCertificatePem => _ca.ExportCertificatePem();
    public string EncryptionKeyBase64 => Convert.ToBase64String(new byte[32]);
    public string SigningKeyPem { get; set; }

    /// <summary>Issues (once) or returns a leaf; <see cref="Reissue"/> forgets one so the next build gets a new serial.</summary>
    public (string Cert, string Key) Leaf(string name, IReadOnlyList<string> sans, int days = 365)
    {
        if (_issued.TryGetValue(name, out var had))
            return had;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var s in sans)
        {
            if (System.Net.IPAddress.TryParse(s, out var ip)) san.AddIpAddress(ip); else san.AddDnsName(s);
        }
        if (sans.Count > 0)
            request.CertificateExtensions.Add(san.Build());
        var serial = RandomNumberGenerator.GetBytes(8);
        serial[0] &= 0x7f;
        using var cert = request.Create(_ca, DateTimeOffset.FromUnixTimeSeconds(BundleFixture.Epoch), DateTimeOffset.FromUnixTimeSeconds(BundleFixture.Epoch).AddDays(days), serial);
        return _issued[name] = (cert.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    public Dictionary<string, (IReadOnlyList<string> Sans, int Days)> Overrides { get; } = [];

    public void Reissue(string name, IReadOnlyList<string> sans, int days)
    {
        _issued.Remove(name);
        Overrides[name] = (sans, days);
    }

    private (string Cert, string Key) Get(string name, IReadOnlyList<string> sans) =>
        Overrides.TryGetValue(name, out var o) ? Leaf(name, o.Sans, o.Days) : Leaf(name, sans);

    public IReadOnlyList<NodeFile> PkiFilesFor(NodeSpec node)
    {
        var files = new List<NodeFile> { NodeFile.Text(NodePaths.Pki("ca.crt"), CaCertificatePem, FileKind.Certificate) };
        if (node.Is(Roles.Master))
        {
            var api = Get("kube-apiserver", ["kubernetes", node.Ip.ToString(), "127.0.0.1"]);
            files.Add(NodeFile.Text(NodePaths.Pki("apiserver.crt"), api.Cert, FileKind.Certificate));
            files.Add(NodeFile.Text(NodePaths.Pki("apiserver.key"), api.Key, FileKind.PrivateKey));
        }
        if (node.Is(Roles.Etcd))
        {
            var etcd = Get($"etcd-server-{node.Name}", [node.Name, node.Ip.ToString(), "127.0.0.1"]);
            files.Add(NodeFile.Text(NodePaths.EtcdPkiDir + "/server.crt", etcd.Cert, FileKind.Certificate));
            files.Add(NodeFile.Text(NodePaths.EtcdPkiDir + "/server.key", etcd.Key, FileKind.PrivateKey));
        }
        if (node.Is(Roles.Worker))
        {
            var kubelet = Get($"kubelet-serving-{node.Name}", [node.Name, node.Ip.ToString()]);
            files.Add(NodeFile.Text(NodePaths.Pki("kubelet.crt"), kubelet.Cert, FileKind.Certificate));
            files.Add(NodeFile.Text(NodePaths.Pki("kubelet.key"), kubelet.Key, FileKind.PrivateKey));
        }
        return files;
    }

    public Credential ClientCredential(string identity, NodeSpec? node = null)
    {
        var (cert, key) = Get(node is null || identity != "kubelet" ? identity : $"system:node:{node.Name}", []);
        return new Credential(cert, key);
    }

    public IReadOnlyList<CertificateInfo> CertificatesFor(NodeSpec node) =>
        PkiFilesFor(node).Where(f => f.Kind == FileKind.Certificate)
            .Select(f =>
            {
                using var cert = X509Certificate2.CreateFromPem(Encoding.UTF8.GetString(f.Content!));
                var d = Bundler.Inspection.BundleReader.Describe(f.Path, cert);
                return new CertificateInfo(d.Path, d.Subject, d.Issuer, d.Sans, d.NotBefore, d.NotAfter, d.KeyAlgorithm, d.SerialNumber);
            }).ToList();
}
