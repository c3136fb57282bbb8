namespace Bundler.Fetch;

/// <summary>
/// Unpacks an upstream archive (tar, tar.gz, tar.xz, tar.zst, tar.bz2, zip: <see cref="ArchiveReader"/>) without
/// trusting it. Every entry is checked before anything is written, and any of these refuses the whole archive
/// with an error naming the archive and the entry: an absolute path or <c>..</c>; a device, FIFO or socket; a link
/// or a path that leaves the destination once resolved against what the archive has already put there (so a
/// chain such as <c>a → .</c>, <c>a/b → ..</c> is caught, as is writing through a link). The same archive is
/// refused whichever members are asked for. Exec bits are kept; setuid, setgid and sticky bits are dropped.
/// </summary>
public static class SafeUnpacker
{
    private const UnixFileMode PermissionBits = (UnixFileMode)0b111_111_111;

    /// <summary>
    /// Extracts <paramref name="members"/> (archive paths, a leading "./" is ignored; regular files only), or every
    /// entry when null, into <paramref name="destination"/>, which must be new or empty. Returns member -> extracted file.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Extract(string archivePath, string archiveName, string destination, IReadOnlyCollection<string>? members)
    {
        ArgumentNullException.ThrowIfNull(archivePath);
        ArgumentNullException.ThrowIfNull(archiveName);
        ArgumentNullException.ThrowIfNull(destination);
        var wanted = members?.ToDictionary(Normalize, m => m, StringComparer.Ordinal);
        Directory.CreateDirectory(destination);
        // Links are resolved against what this archive wrote; anything already there would be unaccounted for.
        if (Directory.EnumerateFileSystemEntries(destination).Any())
            throw new ArgumentException($"{destination} is not empty; unpack into a new folder", nameof(destination));

        var unpacking = new Unpacking(Path.GetFullPath(destination), archiveName, wanted);
        using (var reader = ArchiveReader.Open(archivePath, archiveName))
        {
            foreach (var entry in reader.Entries())
                unpacking.Add(entry);
        }
        unpacking.Finish();
        return unpacking.Extracted;
    }

    /// <summary>"./a//b/" -> "a/b": the form the lock and the archive are compared in.</summary>
    public static string Normalize(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var parts = name.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".");
        return string.Join('/', parts);
    }

    private static string ParentOf(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? "" : path[..slash];
    }

    private static string Join(string folder, string name) => folder.Length == 0 ? name : $"{folder}/{name}";

    /// <summary>One archive being unpacked: the tree it has built so far (on disk, or only modelled), and what it wrote.</summary>
    private sealed class Unpacking(string root, string archiveName, Dictionary<string, string>? wanted)
    {
        private readonly UnpackedTree _tree = new();

        /// <summary>Member (as the caller named it) -> file written.</summary>
        public Dictionary<string, string> Extracted { get; } = new(StringComparer.Ordinal);

        private bool Everything => wanted is null;

        public void Add(ArchiveEntry entry)
        {
            var raw = entry.Name;
            // Metadata (a pax global header names itself like /tmp/GlobalHead.1.1) is never written anywhere.
            if (entry.Kind == ArchiveEntryKind.Metadata)
                return;
            if (raw.StartsWith('/') || raw.StartsWith('\\') || (raw.Length >= 2 && char.IsAsciiLetter(raw[0]) && raw[1] == ':'))
                throw Refused(raw, "has an absolute path");
            if (raw.Contains('\0', StringComparison.Ordinal))
                throw Refused(raw.Replace("\0", "\\0", StringComparison.Ordinal), "has a NUL byte in its name");
            var name = Normalize(raw);
            if (name.Split('/').Contains(".."))
                throw Refused(raw, "climbs out of the archive with '..'");
            switch (entry.Kind)
            {
                case ArchiveEntryKind.Special:
                    throw Refused(raw, entry.TypeName == "Fifo" ? "is a FIFO (named pipe)" : $"is a device file ({entry.TypeName})");
                case ArchiveEntryKind.Unsupported:
                    throw Refused(raw, $"is a {entry.TypeName} entry, which kbundle does not unpack");
            }
            if (name.Length == 0)
                return;

            // Where the entry really lands: its folder resolved through the links the archive made before it.
            var folder = _tree.Resolve(ParentOf(name), followLast: true);
            if (folder.Failure == Failure.None && _tree.KindOf(folder.Path) == NodeKind.File)
                folder = folder with { Failure = Failure.ThroughFile };
            if (folder.Failure != Failure.None)
                throw Refused(raw, Explain(folder.Failure, "lies behind links that lead outside the archive"));
            var location = Join(folder.Path, name[(name.LastIndexOf('/') + 1)..]);
            var existing = _tree.KindOf(location);
            if (existing == NodeKind.Directory && entry.Kind != ArchiveEntryKind.Directory)
                throw Refused(raw, $"would replace the folder '{location}' the archive made before it");
            if (existing is NodeKind.File or NodeKind.Link && entry.Kind == ArchiveEntryKind.Directory)
                throw Refused(raw, $"is a folder where the archive already put a {(existing == NodeKind.File ? "file" : "link")}");
            var asked = wanted is not null && wanted.ContainsKey(name);

            switch (entry.Kind)
            {
                case ArchiveEntryKind.Directory:
                    if (asked)
                        throw FolderMember(wanted![name]);
                    _tree.Add(location, NodeKind.Directory);
                    if (Everything)
                        Directory.CreateDirectory(Path.Combine(root, location));
                    break;

                case ArchiveEntryKind.SymbolicLink:
                    AddLink(entry, raw, name, folder.Path, location, asked);
                    break;

                case ArchiveEntryKind.HardLink:
                    AddHardLink(entry, raw, name, location, asked);
                    break;

                case ArchiveEntryKind.File:
                    _tree.Add(location, NodeKind.File);
                    if (!Everything && !asked)
                    {
                        // Read anyway: a zip entry's CRC is checked only as it is read, and a damaged archive is
                        // refused whichever members are asked for.
                        entry.CopyTo(Stream.Null);
                        break;
                    }
                    if (!Everything && location != name)
                        throw BehindLink(name, location);
                    WriteFile(entry, Path.Combine(root, location));
                    _tree.Written.Add(location);
                    Extracted[wanted?[name] ?? name] = Path.Combine(root, location);
                    break;
            }
        }

        private void AddLink(ArchiveEntry entry, string raw, string name, string folder, string location, bool asked)
        {
            var target = entry.LinkTarget;
            var resolved = target.StartsWith('/') ? new Resolution("", Failure.Escapes) : _tree.Resolve(Join(folder, target), followLast: true);
            // A link through a file can never be followed, so it cannot lead anywhere.
            if (resolved.Failure is Failure.Escapes or Failure.Loops)
                throw Refused(raw, Explain(resolved.Failure, $"is a link pointing outside the archive ({target})"));
            if (asked)
                throw new UserInputException($"{archiveName}: member '{wanted![name]}' is a link to '{target}' in the archive, not a file; " +
                                             $"fix files: in the lock (name the file it points to, '{resolved.Path}')");
            _tree.Add(location, NodeKind.Link, target, raw);
            if (!Everything)
                return;
            var path = Path.Combine(root, location);
            File.Delete(path);
            File.CreateSymbolicLink(path, target);
            Extracted[name] = path;
        }

        private void AddHardLink(ArchiveEntry entry, string raw, string name, string location, bool asked)
        {
            // A hard link names an earlier entry by its path in the archive, not relative to its own folder.
            var target = entry.LinkTarget;
            var resolved = target.StartsWith('/') ? new Resolution("", Failure.Escapes) : _tree.Resolve(Normalize(target), followLast: true);
            if (resolved.Failure != Failure.None)
                throw Refused(raw, Explain(resolved.Failure, $"is a hard link pointing outside the archive ({target})"));
            if (_tree.KindOf(resolved.Path) != NodeKind.File)
                throw Refused(raw, $"is a hard link to '{target}', which is not a file the archive holds before it");
            _tree.Add(location, NodeKind.File);
            if (!Everything && !asked)
                return;
            if (!Everything && location != name)
                throw BehindLink(name, location);
            if (!_tree.Written.Contains(resolved.Path))
                throw new UserInputException($"{archiveName}: member '{wanted![name]}' is a hard link to '{target}' in the archive; " +
                                             $"fix files: in the lock (name '{resolved.Path}' instead, or as well)");
            var path = Path.Combine(root, location);
            if (location != resolved.Path)
            {
                File.Delete(path);
                File.Copy(Path.Combine(root, resolved.Path), path);
            }
            _tree.Written.Add(location);
            Extracted[wanted?[name] ?? name] = path;
        }

        /// <summary>
        /// A link made before a later entry gave its path a meaning (x → y/.., then y → .) may leave only now:
        /// every link is resolved again against the finished tree.
        /// </summary>
        private void CheckLinks()
        {
            foreach (var (location, link) in _tree.Links)
            {
                var resolved = _tree.Resolve(location, followLast: true);
                if (resolved.Failure is Failure.Escapes or Failure.Loops)
                    throw Refused(link.Entry, Explain(resolved.Failure, $"is a link pointing outside the archive ({link.Target}) once later entries are in place"));
            }
        }

        /// <summary>Checks the finished tree, then that every member asked for was written.</summary>
        public void Finish()
        {
            CheckLinks();
            if (wanted is null)
                return;
            foreach (var (name, member) in wanted.Where(w => !Extracted.ContainsKey(w.Value)))
            {
                // A folder with no entry of its own exists only through the files under it.
                if (_tree.KindOf(name) == NodeKind.Directory)
                    throw FolderMember(member);
            }
            var missing = wanted.Values.Where(m => !Extracted.ContainsKey(m)).ToList();
            if (missing.Count > 0)
                throw new UserInputException($"{archiveName}: no member {string.Join(", ", missing.Select(m => $"'{m}'"))} in the archive; " +
                                             "fix files: in the lock (member paths are as 'tar tf' or 'unzip -l' list them)");
        }

        private UserInputException FolderMember(string member) =>
            new($"{archiveName}: member '{member}' is a folder in the archive, not a file; " +
                "fix files: in the lock (name each file inside it that a node needs)");

        private UserInputException BehindLink(string name, string location) =>
            new($"{archiveName}: member '{wanted![name]}' lies behind a link in the archive and is really '{location}'; " +
                $"fix files: in the lock (name '{location}' instead)");

        private static string Explain(Failure failure, string escapes) => failure switch
        {
            Failure.Loops => "goes through links that form a loop",
            Failure.ThroughFile => "lies under a file of the archive, not a folder",
            _ => escapes,
        };

        private IntegrityException Refused(string entry, string why) =>
            new($"{archiveName}: entry '{entry}' {why}; the archive is refused");

        private static void WriteFile(ArchiveEntry entry, string target)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            // Keep the exec bits upstream set; the owner can always read and write what we unpacked.
            var mode = (entry.Mode & PermissionBits) | UnixFileMode.UserRead | UnixFileMode.UserWrite;
            // Deleting first replaces an earlier entry of the same name, and CreateNew never follows a link left there.
            File.Delete(target);
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
                options.UnixCreateMode = mode;
            using (var output = new FileStream(target, options))
                entry.CopyTo(output);
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(target, mode);
        }
    }

    private enum NodeKind
    {
        Directory,
        File,
        Link,
    }

    private enum Failure
    {
        None,
        Escapes,
        Loops,
        ThroughFile,
    }

    private readonly record struct Resolution(string Path, Failure Failure);

    private sealed record LinkNode(string Target, string Entry);

    /// <summary>
    /// What the archive has put where, by real path (no link in it) relative to the destination: folders, files
    /// and links with their targets. Kept for every entry, written or not, so the checks do not depend on which
    /// members were asked for; it is also exactly what is on disk when everything is unpacked.
    /// </summary>
    private sealed class UnpackedTree
    {
        // Linux gives up after 40 links in one lookup (MAXSYMLINKS); so does the model.
        private const int MaxLinks = 40;
        private readonly Dictionary<string, NodeKind> _nodes = new(StringComparer.Ordinal);
        private readonly Dictionary<string, LinkNode> _links = new(StringComparer.Ordinal);

        public HashSet<string> Written { get; } = new(StringComparer.Ordinal);

        public IReadOnlyDictionary<string, LinkNode> Links => _links;

        public NodeKind? KindOf(string path) => _nodes.TryGetValue(path, out var kind) ? kind : null;

        /// <summary>Records a node at a resolved path; the folders above it exist from now on.</summary>
        public void Add(string path, NodeKind kind, string target = "", string entry = "")
        {
            for (var parent = ParentOf(path); parent.Length > 0 && !_nodes.ContainsKey(parent); parent = ParentOf(parent))
                _nodes[parent] = NodeKind.Directory;
            _nodes[path] = kind;
            if (kind == NodeKind.Link)
                _links[path] = new LinkNode(target, entry);
            else
                _links.Remove(path);
        }

        /// <summary>
        /// Resolves <paramref name="path"/> (relative to the root, may hold "..") the way the kernel would on the
        /// tree built so far: links are followed (the last one only when <paramref name="followLast"/>), ".." is
        /// taken after following; a part not there yet is taken as a plain name.
        /// </summary>
        public Resolution Resolve(string path, bool followLast)
        {
            var done = new List<string>();
            var todo = new Stack<string>(path.Split('/').Reverse());
            var hops = 0;
            while (todo.Count > 0)
            {
                var part = todo.Pop();
                if (part is "" or ".")
                    continue;
                if (part == "..")
                {
                    if (done.Count == 0)
                        return new Resolution("", Failure.Escapes);
                    done.RemoveAt(done.Count - 1);
                    continue;
                }
                var current = Join(string.Join('/', done), part);
                var last = !todo.Any(p => p is not ("" or "."));
                switch (KindOf(current))
                {
                    case NodeKind.Link when !last || followLast:
                        if (++hops > MaxLinks)
                            return new Resolution(current, Failure.Loops);
                        var target = _links[current].Target;
                        if (target.StartsWith('/'))
                            return new Resolution(current, Failure.Escapes);
                        foreach (var next in target.Split('/').Reverse())
                            todo.Push(next);
                        continue;
                    case NodeKind.File when !last:
                        return new Resolution(current, Failure.ThroughFile);
                }
                done.Add(part);
            }
            return new Resolution(string.Join('/', done), Failure.None);
        }
    }
}
