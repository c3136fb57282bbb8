using System.Globalization;
using System.Text;
using Bundler.Packaging;
using Bundler.Rollout;

namespace Bundler.Audit;

/// <summary>One step of a first install: which bundles, and what to know before running them (one sentence per note).</summary>
public sealed record InstallStep(string Title, IReadOnlyList<string> Notes, IReadOnlyList<NodeRecord> Nodes);

/// <summary>
/// INSTALL.txt (SPEC §9), for the field engineer: the order to run the bundles in — every etcd member together (a member
/// waits for a quorum of its peers), then the other masters, then the workers — and per node its file, IP, roles and
/// sha256. A node is installed in the first step one of its roles puts it in. <c>build</c> prints the same steps.
/// </summary>
public static class InstallOrder
{
    public static IReadOnlyList<InstallStep> Steps(BundleManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var etcd = manifest.Nodes.Where(n => NodeGroups.Of(n.Roles) == NodeGroup.Etcd).ToList();
        var masters = manifest.Nodes.Where(n => NodeGroups.Of(n.Roles) == NodeGroup.Masters).ToList();
        var workers = manifest.Nodes.Where(n => NodeGroups.Of(n.Roles) == NodeGroup.Workers).ToList();
        var first = manifest.Nodes.FirstOrDefault(n => n.Roles.Contains("master"));
        List<string> Notes(string note, List<NodeRecord> nodes) => first is not null && nodes.Contains(first)
            ? [note, $"{first.Name} is the first master: once its apiserver is healthy it applies the cluster bootstrap and the add-ons."]
            : [note];
        var steps = new List<InstallStep>();
        if (etcd.Count > 0)
            steps.Add(new("etcd members, together", Notes("Start them all within a few minutes: each waits for a quorum of its peers.", etcd), etcd));
        if (masters.Count > 0)
            steps.Add(new("masters", Notes("Once the etcd members are installed.", masters), masters));
        if (workers.Count > 0)
            steps.Add(new("workers", Notes("Once the masters are installed; any order, several at once.", workers), workers));
        return steps;
    }

    /// <summary>The numbered steps, one line per node: what <c>build</c> prints and INSTALL.txt holds.</summary>
    public static string RenderSteps(BundleManifest manifest)
    {
        var steps = Steps(manifest);
        var nodes = steps.SelectMany(s => s.Nodes).ToList();
        var fileWidth = nodes.Max(n => File(n).Length);
        var ipWidth = nodes.Max(n => n.Ip.Length);
        var rolesWidth = nodes.Max(n => string.Join(",", n.Roles).Length);
        var text = new StringBuilder();
        for (var i = 0; i < steps.Count; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{i + 1}. {steps[i].Title}. {string.Join("\n   ", steps[i].Notes)}\n");
            foreach (var node in steps[i].Nodes)
                text.Append(CultureInfo.InvariantCulture,
                    $"   {File(node).PadRight(fileWidth)}  {node.Ip.PadRight(ipWidth)}  {string.Join(",", node.Roles).PadRight(rolesWidth)}  sha256 {node.Bundle?.Sha256}\n");
        }
        return text.ToString();
    }

    /// <summary>INSTALL.txt: what it is, how to check and run a bundle, then <see cref="RenderSteps"/>.</summary>
    public static byte[] Render(BundleManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var text = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"Install order for site {manifest.Site.Name}: Kubernetes {manifest.Site.Kubernetes}, {manifest.Nodes.Count} node(s), kbundle {manifest.ToolVersion}\n")
            .Append('\n')
            .Append("Check the files first: sha256sum -c SHA256SUMS (every line OK), and the signature with the public key you were\n")
            .Append("given: openssl dgst -sha256 -verify signing.pub -signature SHA256SUMS.sig SHA256SUMS (\"Verified OK\").\n")
            .Append("Copy each bundle to its host (the IP below) and run it there as root: sudo ./<node>.run\n")
            .Append("(./<node>.run --check verifies it and changes nothing; --help lists every option).\n")
            .Append('\n')
            .Append(RenderSteps(manifest))
            .Append('\n')
            .Append(DayTwo(manifest));
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>
    /// How a later build of the running site rolls out (SPEC §8), in the groups the first install uses
    /// (<see cref="NodeGroups"/>, as <see cref="RolloutOrder"/> orders them); <c>kbundle plan</c> says which bundles changed.
    /// </summary>
    public static string DayTwo(BundleManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        string Names(NodeGroup group) => string.Join(", ", manifest.Nodes.Where(n => NodeGroups.Of(n.Roles) == group).Select(File).DefaultIfEmpty("none"));
        return new StringBuilder()
            .Append("Later builds of this site (an upgrade, nodes added or removed, renewed certificates) roll out onto the running\n")
            .Append("cluster: run only the bundles that changed, in this order (kbundle plan SITE lists them with their commands and\n")
            .Append("refuses a change that cannot roll out safely; kbundle build prints the same):\n")
            .Append(CultureInfo.InvariantCulture, $"1. etcd members, one at a time, each once the last one's installer has ended: {Names(NodeGroup.Etcd)}\n")
            .Append(CultureInfo.InvariantCulture, $"2. masters, one at a time: {Names(NodeGroup.Masters)}\n")
            .Append(CultureInfo.InvariantCulture, $"3. workers, a batch at a time ({RolloutOrder.DefaultBatch} by default): {Names(NodeGroup.Workers)}\n")
            .Append("4. nodes no longer in the site: their bundle from the previous delivery with --uninstall --purge.\n")
            .Append("On a minor Kubernetes upgrade of a site with more than one master, the masters first run with\n")
            .Append(CultureInfo.InvariantCulture, $"{RolloutOrder.HoldOption} {string.Join(',', RolloutOrder.HeldUnits)}, then once more without it before the workers.\n")
            .ToString();
    }

    private static string File(NodeRecord node) => node.Bundle?.File ?? node.Name;
}
