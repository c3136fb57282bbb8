using System.Diagnostics;
using System.Globalization;
using Bundler.Configuration;
using Bundler.Fetch;
using Bundler.Layout;
using Bundler.Nginx;
using Bundler.Packaging;
using Bundler.Pipeline;
using Bundler.Pki;
using Bundler.Render;
using Bundler.Signing;

namespace Bundler.Benchmarks;

/// <summary>
/// Issues 7 and 8: 1 vs N node bundles over a payload of real ELF files (every bundle holds all of it), against
/// a floor measured in the same run: one `tar | pigz` of the payload plus N plain copies of its output. Then a
/// warm rebuild against the cold one, and the bundle's own verify + extract against `tar xzf` of the same payload.
/// </summary>
public static class PackagingBenchmark
{
    public const string Name = "packaging";

    public static async Task<int> RunAsync(string root, int nodes, long megabytes)
    {
        Directory.CreateDirectory(root);
        var files = ElfFiles(megabytes * 1024 * 1024);
        var total = files.Sum(f => new FileInfo(f).Length);
        Console.WriteLine(FormattableString.Invariant($"payload: {files.Count} ELF files, {total / 1048576.0:F0} MiB; nodes: {nodes}; cores: {Environment.ProcessorCount}"));

        var list = Path.Combine(root, "files.txt");
        File.WriteAllLines(list, files);
        var floorDir = Path.Combine(root, "floor");
        Directory.CreateDirectory(floorDir);
        var pigz = Measure.Time(() => Measure.Shell($"tar -cf - -T {list} 2>/dev/null | pigz > {floorDir}/payload.tgz")).TotalSeconds;
        var copies = Measure.Time(() =>
        {
            for (var i = 0; i < nodes; i++)
                File.Copy(Path.Combine(floorDir, "payload.tgz"), Path.Combine(floorDir, $"copy{i}.tgz"));
        }).TotalSeconds;
        var floor = pigz + copies;
        var untar = Path.Combine(root, "untar");
        Directory.CreateDirectory(untar);
        var tarX = Measure.Time(() => Measure.Shell($"tar xzf {floorDir}/payload.tgz -C {untar}")).TotalSeconds;
        Directory.Delete(untar, recursive: true);
        Console.WriteLine(FormattableString.Invariant($"floor: tar|pigz {pigz:F1} s + {nodes} copies {copies:F1} s = {floor:F1} s ({new FileInfo(Path.Combine(floorDir, "payload.tgz")).Length / 1048576.0:F0} MiB each)"));
        Directory.Delete(floorDir, recursive: true);

        var (one, _) = await Build(root, "one", files, 1, runs: 1);
        var (cold, warm) = await Build(root, "cold", files, nodes, runs: 2);
        Console.WriteLine(FormattableString.Invariant($"kbundle 1 node cold:  {one:F1} s"));
        Console.WriteLine(FormattableString.Invariant($"kbundle {nodes} nodes cold: {cold:F1} s = {cold / floor:F2} x floor (goal <= 1.2)"));
        Console.WriteLine(FormattableString.Invariant($"kbundle {nodes} nodes warm: {warm:F2} s = {100 * warm / cold:F1} % of cold (goal <= 5 %)"));
        Measure.Report($"package {nodes} nodes vs floor", TimeSpan.FromSeconds(cold), $"tar|pigz + {nodes} copies", TimeSpan.FromSeconds(floor), 1.2);
        Measure.Report($"warm rebuild ({nodes} nodes) vs cold", TimeSpan.FromSeconds(warm), "cold build", TimeSpan.FromSeconds(cold), 0.05);

        // The field engineer's side: the bundle verifies its payload, then unpacks it (--extract does both).
        var bundle = Path.Combine(root, "one", "artifacts", "n000.run");
        var extracted = Path.Combine(root, "extracted");
        var extract = Measure.Time(() => Measure.Shell($"bash {bundle} --extract {extracted} >/dev/null")).TotalSeconds;
        Measure.Report("installer verify + extract (1 node)", TimeSpan.FromSeconds(extract), "tar xzf of the same payload", TimeSpan.FromSeconds(tarX), 1.3);
        return 0;
    }

    /// <summary>Times the package and sign steps: the first run cold (empty cache and folder), the second warm (nothing changed).</summary>
    private static async Task<(double First, double Second)> Build(string root, string name, IReadOnlyList<string> files, int nodes, int runs)
    {
        var yaml = "name: bench\nkubernetes: 1.36.0\npki: {keyAlgorithm: ecdsa-p256}\nnodes:\n" + string.Concat(Enumerable.Range(0, nodes).Select(i =>
            FormattableString.Invariant($"  - name: n{i:D3}\n    ip: 10.88.{1 + i / 200}.{10 + i % 200}\n    roles: [{(i == 0 ? "etcd, master, worker" : "worker")}]\n")));
        var pins = PinCatalog.Default();
        var site = SiteLoader.Parse(yaml, "bench.yaml", pins, new string('0', 64)).Site;
        var options = new BuildOptions
        {
            SitePath = "bench.yaml", OutDir = Path.Combine(root, name, "artifacts"), CacheDir = Path.Combine(root, name, "cache"), StateDir = Path.Combine(root, name, "state"),
        };
        var inputs = new BuildInputs(site, new LockFile("bench-lock.yaml", site.Kubernetes, []), options);
        var pki = PkiStep.Run(inputs, new RecordingReporter());
        var trees = site.Nodes.Select(n => new NodeTree(n.Name,
            files.Select((f, i) => NodeFile.Binary(NodePaths.Bin(FormattableString.Invariant($"f{i:D4}-{Path.GetFileName(f)}")), f, "bench"))
                .Concat(pki.Material.PkiFilesFor(n)).ToList(), ComponentTable.UnitsFor(n.Roles))).ToList();
        var fetched = new FetchResult([], new Dictionary<(Arch, string), FetchedFile>());
        var nginx = new NginxResult(new Dictionary<Arch, NginxBuild>());
        var times = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            var reporter = new RecordingReporter();
            var clock = Stopwatch.StartNew();
            var packaged = await PackageStep.RunAsync(inputs, new RenderResult(trees), fetched, nginx, pki, reporter);
            await SignStep.RunAsync(inputs, packaged, pki.SigningKey, reporter);
            times.Add(clock.Elapsed.TotalSeconds);
        }
        return (times[0], times[^1]);
    }

    internal static List<string> ElfFiles(long bytes)
    {
        var result = new List<string>();
        // Hard links and copies would let tar store one file many times: one file per size keeps them out.
        var sizes = new HashSet<long>();
        long sum = 0;
        foreach (var dir in new[] { "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/bin", "/usr/libexec", "/usr/lib" })
        {
            if (!Directory.Exists(dir))
                continue;
            foreach (var file in Directory.EnumerateFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true }).Order(StringComparer.Ordinal))
            {
                if (sum >= bytes)
                    return result;
                var info = new FileInfo(file);
                if (info.LinkTarget is not null || info.Length < 4096 || !sizes.Add(info.Length))
                    continue;
                var magic = new byte[4];
                try
                {
                    using var s = info.OpenRead();
                    if (s.Read(magic) != 4 || magic[0] != 0x7f || magic[1] != (byte)'E' || magic[2] != (byte)'L' || magic[3] != (byte)'F')
                        continue;
                }
                catch (IOException) { continue; }
                catch (UnauthorizedAccessException) { continue; }
                result.Add(file);
                sum += info.Length;
            }
        }
        return result;
    }


}
