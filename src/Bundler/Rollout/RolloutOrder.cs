using System.Globalization;
using Bundler.Configuration;
using Bundler.Layout;

namespace Bundler.Rollout;

/// <summary>How a node's bundle compares with the build that runs on the site now.</summary>
public enum NodeChange { New, Changed, Unchanged, Removed }

/// <summary>One node as the rollout sees it: name, roles, bundle file, and its change against the running build.</summary>
public sealed record PlannedNode(string Name, Roles Roles, string File, NodeChange Change)
{
    public NodeGroup Group => NodeGroups.Of(Roles);
}

/// <summary>One run of a bundle in the rollout: which node, which file, with which options.</summary>
public sealed record RolloutRun(string Node, string File, IReadOnlyList<string> Arguments)
{
    /// <summary>What the field engineer types on the node.</summary>
    public string Command => string.Join(' ', new[] { "sudo", "./" + File }.Concat(Arguments));
}

/// <summary>One step of a rollout: its title, what to know (one sentence per note), and its batches (run one batch at a time).</summary>
public sealed record RolloutStep(string Title, IReadOnlyList<string> Notes, IReadOnlyList<IReadOnlyList<RolloutRun>> Batches)
{
    public IEnumerable<RolloutRun> Runs => Batches.SelectMany(b => b);
}

/// <summary>
/// The order a later build of a running site is rolled out in (SPEC §8): etcd members one at a time, each healthy before
/// the next (members that join after the running ones); then masters one at a time (existing before new); then workers
/// in batches; then the nodes the site no longer has are uninstalled. Only new and changed bundles run. On a minor
/// Kubernetes upgrade of a site with more than one apiserver, the masters' kubelet and kube-proxy are held on the old
/// version until every apiserver runs the new one (kubelets are never newer than an apiserver): masters run with
/// <c>--hold</c>, then once more without it before the workers. Groups come from <see cref="NodeGroups"/>, as INSTALL.txt's do.
/// </summary>
public static class RolloutOrder
{
    public const int DefaultBatch = 5;

    /// <summary>What a master holds back on a minor upgrade: the components that must not be newer than any apiserver.</summary>
    public static readonly IReadOnlyList<string> HeldUnits = [ComponentTable.Kubelet.UnitName, ComponentTable.KubeProxy.UnitName];

    public const string HoldOption = "--hold";

    /// <param name="nodes">Every node of the new build (site order) and every removed one.</param>
    /// <param name="etcd">The etcd membership: who joins, who is removed.</param>
    /// <param name="hold">Hold the masters' kubelets back (<see cref="RolloutChecks.HoldsKubelets"/>).</param>
    /// <param name="batch">Workers per batch.</param>
    public static IReadOnlyList<RolloutStep> Steps(IReadOnlyList<PlannedNode> nodes, EtcdCluster etcd, bool hold, int batch = DefaultBatch)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(etcd);
        if (batch < 1)
            throw new UserInputException($"--batch {batch}: allowed: 1 or more workers at a time");
        var run = nodes.Where(n => n.Change is NodeChange.New or NodeChange.Changed).ToList();
        var held = new List<RolloutRun>();
        RolloutRun Run(PlannedNode n)
        {
            // Held: a master whose kubelet runs now (a new one starts its kubelet only once every apiserver is upgraded).
            if (hold && n.Roles.HasFlag(Roles.Master) && n.Change == NodeChange.Changed && ComponentTable.Kubelet.RunsOn(n.Roles))
            {
                held.Add(new RolloutRun(n.Name, n.File, []));
                return new RolloutRun(n.Name, n.File, [HoldOption, string.Join(',', HeldUnits)]);
            }
            return new RolloutRun(n.Name, n.File, []);
        }
        var steps = new List<RolloutStep>();
        var holdNote = $"Masters run with {HoldOption} {string.Join(',', HeldUnits)}: their kubelet and kube-proxy keep the old version until every apiserver runs the new one.";

        var members = run.Where(n => n.Group == NodeGroup.Etcd).OrderBy(n => etcd.Joining.Any(j => j.Name == n.Name)).ToList();
        if (members.Count > 0)
        {
            var notes = new List<string> { "Run the next once the last one's installer has ended: it ends only once its member is healthy again." };
            foreach (var j in etcd.Joining)
                notes.Add($"{j.Name} joins the running cluster: its installer adds it (etcdctl member add) before its etcd first starts.");
            var remover = members.FirstOrDefault(n => etcd.Removed.Count > 0 && !etcd.Joining.Any(j => j.Name == n.Name));
            if (remover is not null)
                notes.Add($"{remover.Name} removes {string.Join(", ", etcd.Removed)} from the cluster (etcdctl member remove), " +
                          "only while a quorum of the other members is healthy; the next members find it done.");
            if (hold && members.Any(n => n.Roles.HasFlag(Roles.Master)))
                notes.Add(holdNote);
            steps.Add(new RolloutStep("etcd members, one at a time", notes, [.. members.Select(n => (IReadOnlyList<RolloutRun>)[Run(n)])]));
        }

        var masters = run.Where(n => n.Group == NodeGroup.Masters).OrderBy(n => n.Change == NodeChange.New).ToList();
        if (masters.Count > 0)
        {
            List<string> notes = ["Once the etcd members are done; run the next once the last one's installer has ended (it waits for its apiserver)."];
            if (hold && masters.Any(n => n.Change == NodeChange.Changed))
                notes.Add(holdNote);
            steps.Add(new RolloutStep("masters, one at a time", notes, [.. masters.Select(n => (IReadOnlyList<RolloutRun>)[Run(n)])]));
        }
        if (held.Count > 0)
            steps.Add(new RolloutStep("masters again, one at a time",
                ["Every apiserver runs the new version now: each run restarts the kubelet and kube-proxy it held back."],
                [.. held.Select(r => (IReadOnlyList<RolloutRun>)[r])]));

        var workers = run.Where(n => n.Group == NodeGroup.Workers).ToList();
        if (workers.Count > 0)
            steps.Add(new RolloutStep(string.Create(CultureInfo.InvariantCulture, $"workers, in batches of {batch}"),
                ["Once the masters are done; the bundles of one batch together, the next batch once they have all ended."],
                [.. workers.Select(Run).Chunk(batch).Select(b => (IReadOnlyList<RolloutRun>)b)]));

        var removed = nodes.Where(n => n.Change == NodeChange.Removed).ToList();
        if (removed.Count > 0)
            steps.Add(new RolloutStep("nodes no longer in the site",
                ["This build has no bundle for them: uninstall each with its bundle from the previous delivery (--purge also deletes its data)."],
                [[.. removed.Select(n => new RolloutRun(n.Name, n.File, ["--uninstall", "--purge", "--yes"]))]]));
        return steps;
    }

    /// <summary>Numbered steps, one line per run with its command: what <c>plan</c> and <c>build</c> print.</summary>
    public static string Render(IReadOnlyList<RolloutStep> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        if (steps.Count == 0)
            return "   nothing to roll out: every bundle installs what runs now\n";
        var width = steps.SelectMany(s => s.Runs).Max(r => r.File.Length);
        var text = new System.Text.StringBuilder();
        for (var i = 0; i < steps.Count; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{i + 1}. {steps[i].Title}. {string.Join("\n   ", steps[i].Notes)}\n");
            var batches = steps[i].Batches;
            for (var b = 0; b < batches.Count; b++)
            {
                var prefix = batches.Count > 1 && batches.Any(x => x.Count > 1) ? $"   batch {b + 1}:\n" : "";
                text.Append(prefix);
                foreach (var r in batches[b])
                    text.Append(CultureInfo.InvariantCulture, $"   {r.File.PadRight(width)}  {r.Command}\n");
            }
        }
        return text.ToString();
    }
}
