using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Layout;
using Bundler.Pipeline;

namespace Bundler.Tests.Fetch;

/// <summary>
/// A throw-away build world: a temp folder with a site (one etcd node), a lock written by the test from
/// archives it built itself (fake upstream binaries: the real ones cannot ship with the tests), and a cache.
/// </summary>
public sealed class FetchWorld : IDisposable
{
    public FetchWorld()
    {
        Root = Path.Combine(Path.GetTempPath(), "kbundle-fetch-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Root);
        CacheDir = Path.Combine(Root, "cache");
    }

    public string Root { get; }
    public string CacheDir { get; }

    /// <summary>This world's output folder: every build of a test names it (a build locks its output folder).</summary>
    public string OutDir => Path.Combine(Root, "out");
    public RecordingReporter Reporter { get; } = new();

    /// <summary>Retries and stall timeout kept short so failure paths finish quickly.</summary>
    public static readonly FetchSettings Quick = new() { Retries = 2, RetryDelay = TimeSpan.FromMilliseconds(10), StallTimeout = TimeSpan.FromMilliseconds(700), MaxParallel = 2 };

    /// <summary>Roles of the test site's single node, and the binaries the lock must provide for them.</summary>
    public const Roles NodeRoles = Roles.Etcd | Roles.Master;
    public static readonly IReadOnlyList<string> NodeBinaries = ComponentTable.FetchedBinariesFor(NodeRoles).ToList();

    /// <summary>A release archive: a top folder with every binary the test node needs, and a README we never take.</summary>
    public static byte[] EtcdArchive(string marker = "") => TarGz(
        [.. NodeBinaries.Select(p => ($"etcd-v9/{Path.GetFileName(p)}", Encoding.UTF8.GetBytes($"#!/bin/sh\necho {Path.GetFileName(p)}{marker}\n"), (UnixFileMode)0b111_101_101)),
         ("etcd-v9/README.md", Encoding.UTF8.GetBytes("readme\n"), (UnixFileMode)0b110_100_100)]);

    public static byte[] TarGz(params (string Name, byte[] Data, UnixFileMode Mode)[] files)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            foreach (var (name, data, mode) in files)
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data), Mode = mode });
        }
        return output.ToArray();
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>The lock entry for <see cref="EtcdArchive"/> at <paramref name="url"/>.</summary>
    public static string EtcdLockEntry(string url, string sha256) =>
        $"  - name: etcd\n    version: 9.0.0\n    arch: amd64\n    url: {url}\n    sha256: {sha256}\n    files:\n" +
        string.Concat(NodeBinaries.Select(p => $"      etcd-v9/{Path.GetFileName(p)}: {p}\n"));

    /// <summary>
    /// The lock: these artifacts, then <c>images:</c> with the two images every site with a kubelet needs (the sandbox
    /// image, CoreDNS for the default add-on), both small stand-in images whose blobs are already in the cache, as a
    /// previous build would have left them. A test adds images by appending list entries (<c>  - name: …</c>).
    /// </summary>
    public string WriteLock(params string[] entries)
    {
        var path = Path.Combine(Root, "lock.yaml");
        File.WriteAllText(path, "kubernetes: 1.36.0\nartifacts:\n" + string.Join("", entries) + NodeImagesSection());
        return path;
    }

    /// <summary>The lock's <c>images:</c> section with the sandbox and CoreDNS stand-ins, whose blobs this puts in the cache.</summary>
    public string NodeImagesSection() => "images:\n" + SeedNodeImages();

    /// <summary>The stand-in sandbox and CoreDNS images (TEST STAND-INS, a few bytes each), in the cache; their lock entries.</summary>
    private string SeedNodeImages()
    {
        var entries = new StringBuilder();
        foreach (var name in new[] { "pause", "coredns" })
        {
            var layout = Images.OciTestLayout.Build(Path.Combine(Root, "seed-images", name), Encoding.UTF8.GetBytes($"TEST STAND-IN for the {name} image\n"));
            var blobs = Directory.CreateDirectory(Path.Combine(CacheDir, "blobs", "sha256")).FullName;
            foreach (var blob in Directory.EnumerateFiles(Path.Combine(layout.Dir, "blobs", "sha256")))
                File.Copy(blob, Path.Combine(blobs, Path.GetFileName(blob)), overwrite: true);
            entries.Append($"  - name: {name}\n    ref: registry.example.invalid/stand-in/{name}:v1\n    digest: {layout.Index}\n");
        }
        return entries.ToString();
    }

    /// <param name="extra">More top-level site keys (e.g. <c>images: [busybox]</c>).</param>
    public string WriteSite(string roles = "[etcd, master]", string extra = "")
    {
        var path = Path.Combine(Root, "site.yaml");
        File.WriteAllText(path, $"""
            name: test
            kubernetes: 1.36.0
            network:
              serviceCidr: 10.254.0.0/16
              podCidr: 172.30.0.0/16
            nodes:
              - name: n1
                ip: 192.168.93.11
                roles: {roles}

            """ + extra);
        return path;
    }

    /// <summary>The build's inputs as kbundle loads them: the site, this lock (checked), the options.</summary>
    public BuildInputs Inputs(string lockPath, IReadOnlyList<string>? mirrors = null, bool offline = false)
    {
        var sitePath = File.Exists(Path.Combine(Root, "site.yaml")) ? Path.Combine(Root, "site.yaml") : WriteSite();
        var options = new BuildOptions { SitePath = sitePath, PinsFile = lockPath, CacheDir = CacheDir, Mirrors = mirrors ?? [], Offline = offline, StateDir = Path.Combine(Root, "state"), OutDir = Path.Combine(Root, "out") };
        return Builder.LoadInputs(options);
    }

    public async Task<FetchResult> FetchAsync(string lockPath, IReadOnlyList<string>? mirrors = null, bool offline = false, FetchSettings? settings = null)
    {
        var inputs = Inputs(lockPath, mirrors, offline);
        return await new FetchStep(settings ?? Quick).RunAsync(inputs, Reporter);
    }

    public IEnumerable<string> CacheEntries() =>
        Directory.Exists(Path.Combine(CacheDir, "sha256")) ? Directory.EnumerateFiles(Path.Combine(CacheDir, "sha256")) : [];

    public IEnumerable<string> Quarantined() =>
        Directory.Exists(Path.Combine(CacheDir, "quarantine")) ? Directory.EnumerateFiles(Path.Combine(CacheDir, "quarantine")) : [];

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
