using System.Globalization;
using System.Text;
using Bundler.Configuration;
using Bundler.Layout;
using Bundler.Packaging;
using Bundler.Render;

namespace Bundler.Rollout;

/// <summary>
/// One node of a plan: how its bundle compares with the running build; for a changed one, the files it adds, replaces and
/// removes, the units the installer restarts for them and the units it starts for the first time; what else to know.
/// </summary>
public sealed record NodePlan(string Node, string File, Roles Roles, NodeChange Change,
    IReadOnlyList<string> NewFiles, IReadOnlyList<string> ChangedFiles, IReadOnlyList<string> RemovedFiles,
    IReadOnlyList<string> Restarts, IReadOnlyList<string> Starts, IReadOnlyList<string> Notes);

/// <summary>
/// What a build of a site would change on the site that runs its last build (SPEC §8): per node new, changed (files, units
/// restarted), unchanged or removed, and the rollout order (<see cref="RolloutOrder"/>). <c>kbundle plan</c> prints it
/// without writing anything; <c>kbundle build</c> prints it for what it wrote.
/// </summary>
public sealed record SitePlan(string Site, string Against, BundleManifest? Running, string Kubernetes, long? Serial,
    IReadOnlyList<NodePlan> Nodes, IReadOnlyList<RolloutStep> Steps)
{
    /// <summary>The plan of <paramref name="planned"/> (a build's manifest, written or not) against <paramref name="running"/>.</summary>
    /// <param name="render">What render handed on for <paramref name="planned"/>: which units each file's change restarts.</param>
    public static SitePlan Of(SiteSpec site, BundleManifest? running, BundleManifest planned, RenderResult render, string against, int batch = RolloutOrder.DefaultBatch)
    {
        ArgumentNullException.ThrowIfNull(site);
        ArgumentNullException.ThrowIfNull(planned);
        ArgumentNullException.ThrowIfNull(render);
        var etcd = new EtcdCluster(site, running);
        var hold = RolloutChecks.HoldsKubelets(site, running);
        var nodes = new List<NodePlan>();
        foreach (var node in planned.Nodes)
        {
            var roles = NodeGroups.RolesOf(node.Roles);
            var file = node.Bundle?.File ?? BundleLayout.RunFile(node.Name);
            var tree = render.Nodes.Single(t => t.Node == node.Name);
            var was = running?.Nodes.FirstOrDefault(n => n.Name == node.Name);
            var notes = new List<string>();
            var spec = site.Node(node.Name);
            if (etcd.IsJoining(spec))
                notes.Add("joins the running etcd cluster: its installer adds it (member add), then starts etcd with initial-cluster-state=existing");
            if (etcd.RemovedBy(spec).Count > 0)
                notes.Add($"removes {string.Join(", ", etcd.Removed)} from the etcd cluster if no member before it in the rollout did");
            if (was is null)
            {
                nodes.Add(new NodePlan(node.Name, file, roles, NodeChange.New, [.. node.Files.Select(f => f.Path)], [], [], [], [.. tree.Units], notes));
                continue;
            }
            var before = was.Files.ToDictionary(f => f.Path, StringComparer.Ordinal);
            var after = node.Files.ToDictionary(f => f.Path, StringComparer.Ordinal);
            List<string> added = [.. node.Files.Where(f => !before.ContainsKey(f.Path)).Select(f => f.Path)];
            List<string> changed = [.. node.Files.Where(f => before.TryGetValue(f.Path, out var b) && (b.Sha256 != f.Sha256 || b.Mode != f.Mode)).Select(f => f.Path)];
            List<string> removed = [.. was.Files.Where(f => !after.ContainsKey(f.Path)).Select(f => f.Path)];
            var sameContent = node.Bundle?.ContentSha256 is { } content && was.Bundle?.ContentSha256 == content;
            if (sameContent || (node.Bundle?.ContentSha256 is null && added.Count + changed.Count + removed.Count == 0 && was.Units.SequenceEqual(node.Units)))
            {
                nodes.Add(new NodePlan(node.Name, file, roles, NodeChange.Unchanged, [], [], [], [], [], notes));
                continue;
            }
            var byPath = tree.Files.ToDictionary(f => f.Path, StringComparer.Ordinal);
            var starts = tree.Units.Where(u => !was.Units.Contains(u)).ToList();
            var restarts = tree.Units.Where(u => !starts.Contains(u) &&
                added.Concat(changed).Any(p => byPath.TryGetValue(p, out var f) && f.Restarts.Any(c => c.UnitName == u))).ToList();
            if (added.Count + changed.Count + removed.Count == 0)
                notes.Add("only its bundle's header changed (the site's nodes or etcd members, /etc/hosts, the kbundle version): the installer rewrites what it says, restarts nothing");
            foreach (var gone in was.Units.Where(u => !tree.Units.Contains(u)))
                notes.Add($"no longer runs {gone}: its files go, the installer does not stop it (systemctl disable --now {gone})");
            if (hold && roles.HasFlag(Roles.Master) && restarts.Any(RolloutOrder.HeldUnits.Contains))
                notes.Add($"holds {string.Join(" and ", RolloutOrder.HeldUnits.Where(restarts.Contains))} back (--hold) until every apiserver is upgraded, then restarts them on its second run");
            nodes.Add(new NodePlan(node.Name, file, roles, NodeChange.Changed, added, changed, removed, restarts, starts, notes));
        }
        var now = planned.Nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in running?.Nodes.Where(n => !now.Contains(n.Name)) ?? [])
        {
            var notes = new List<string> { "not in the site any more: this build has no bundle for it" };
            if (etcd.Removed.Any(m => m.Name == gone.Name))
                notes.Add("an etcd member: a remaining member's bundle removes it from the cluster first (see the rollout)");
            nodes.Add(new NodePlan(gone.Name, gone.Bundle?.File ?? BundleLayout.RunFile(gone.Name), NodeGroups.RolesOf(gone.Roles), NodeChange.Removed,
                [], [], [.. gone.Files.Select(f => f.Path)], [], [], notes));
        }
        // A first install has no rollout: INSTALL.txt's order (etcd members together) is the one.
        var steps = running is null ? [] : RolloutOrder.Steps([.. nodes.Select(n => new PlannedNode(n.Node, n.Roles, n.File, n.Change))], etcd, hold, batch);
        return new SitePlan(site.Name, against, running, site.Kubernetes, planned.BuildSerial, nodes, steps);
    }

    public static string Name(NodeChange change) => change.ToString().ToLowerInvariant();

    /// <summary>The plan as <c>plan</c> and <c>build</c> print it: one block per node, then the rollout's numbered steps with their commands.</summary>
    public string Render(bool showUnchanged = true)
    {
        var text = new StringBuilder();
        text.Append(Running is null
            ? $"Site {Site} has no build in {Against}: every bundle is new (a first install; INSTALL.txt has its order).\n"
            : string.Create(CultureInfo.InvariantCulture, $"Site {Site} against the build in {Against} (build serial {Running.BuildSerial?.ToString(CultureInfo.InvariantCulture) ?? "none"}): ") +
              string.Create(CultureInfo.InvariantCulture, $"Kubernetes {Running.Site.Kubernetes} -> {Kubernetes}{(Serial is null ? "" : $", this build is serial {Serial}")}.\n"));
        var width = Nodes.Select(n => n.File.Length).DefaultIfEmpty(0).Max();
        foreach (var n in Nodes.Where(n => showUnchanged || n.Change != NodeChange.Unchanged))
        {
            text.Append(CultureInfo.InvariantCulture, $"  {n.File.PadRight(width)}  {Name(n.Change),-9}");
            var parts = new List<string>();
            if (n.Change == NodeChange.Changed)
            {
                if (n.ChangedFiles.Count > 0)
                    parts.Add($"{n.ChangedFiles.Count} changed ({Short(n.ChangedFiles)})");
                if (n.NewFiles.Count > 0)
                    parts.Add($"{n.NewFiles.Count} new ({Short(n.NewFiles)})");
                if (n.RemovedFiles.Count > 0)
                    parts.Add($"{n.RemovedFiles.Count} removed ({Short(n.RemovedFiles)})");
                parts.Add(n.Restarts.Count == 0 ? "restarts nothing" : $"restarts {string.Join(", ", n.Restarts)}");
                if (n.Starts.Count > 0)
                    parts.Add($"starts {string.Join(", ", n.Starts)}");
            }
            else if (n.Change == NodeChange.New)
                parts.Add($"{n.NewFiles.Count} files, starts {string.Join(", ", n.Starts)}");
            text.Append(string.Join("; ", parts)).Append('\n');
            foreach (var note in n.Notes)
                text.Append(' ', width + 15).Append(note).Append('\n');
        }
        text.Append(Running is null ? "" : "Rollout (sudo on each node, in this order):\n").Append(Running is null ? "" : RolloutOrder.Render(Steps));
        return text.ToString();
    }

    /// <summary>The plan as <c>plan --json</c> prints it (and <c>build --json</c> under <c>plan</c>).</summary>
    public object ToJson() => new
    {
        site = Site,
        against = Against,
        runningBuildSerial = Running?.BuildSerial,
        runningKubernetes = Running?.Site.Kubernetes,
        kubernetes = Kubernetes,
        buildSerial = Serial,
        nodes = Nodes.Select(n => new
        {
            node = n.Node, file = n.File, roles = Names.RoleList(n.Roles).ToList(), change = Name(n.Change),
            newFiles = n.NewFiles, changedFiles = n.ChangedFiles, removedFiles = n.RemovedFiles, restarts = n.Restarts, starts = n.Starts, notes = n.Notes,
        }).ToList(),
        steps = Steps.Select(s => new
        {
            title = s.Title, notes = s.Notes,
            batches = s.Batches.Select(b => b.Select(r => new { node = r.Node, file = r.File, arguments = r.Arguments, command = r.Command }).ToList()).ToList(),
        }).ToList(),
    };

    private static string Short(IReadOnlyList<string> paths) =>
        paths.Count <= 3 ? string.Join(", ", paths) : $"{string.Join(", ", paths.Take(3))}, +{paths.Count - 3} more";
}
