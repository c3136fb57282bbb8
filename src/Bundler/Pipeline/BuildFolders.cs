using System.Security.Cryptography;
using Bundler.Layout;
using Bundler.Pki;

namespace Bundler.Pipeline;

/// <summary>
/// The three folders a build writes (--cache, --state, --out), checked before any step runs (issue 12 items 9, 13, 18):
/// each a folder this user can write, the state never inside the output or the output inside the state, then both
/// locked for this build, and no new CA made over bundles another key signed unless asked (--new-cluster).
/// </summary>
public static class BuildFolders
{
    /// <summary>Checks the folders, creates them, and takes the state and output locks (released by disposing).</summary>
    public static IDisposable Prepare(BuildInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var folders = new[] { ("--cache", inputs.CacheDir), ("--state", inputs.StateDir), ("--out", inputs.OutDir) };
        foreach (var (option, path) in folders)
            if (File.Exists(path))
                throw new UserInputException($"{option} {path}: is a file, not a folder; name a folder (it is made if missing)");
        CheckApart(inputs.StateDir, inputs.OutDir);

        Writable("--cache", inputs.CacheDir, null);
        var state = Lock("--state", inputs.StateDir, "state folder", NodeFile.SecretDir);
        try
        {
            var output = Lock("--out", inputs.OutDir, "output folder", null);
            try
            {
                CheckNewCluster(inputs);
                return new Both(state, output);
            }
            catch
            {
                output.Dispose();
                throw;
            }
        }
        catch
        {
            state.Dispose();
            throw;
        }
    }

    /// <summary>Keys must never be shipped: the state folder is neither the output folder, nor inside it, nor around it.</summary>
    public static void CheckApart(string stateDir, string outDir)
    {
        var state = Real(stateDir);
        var output = Real(outDir);
        var relation = state == output ? "are the same folder"
            : Inside(state, output) ? "the state folder is inside the output folder"
            : Inside(output, state) ? "the output folder is inside the state folder"
            : null;
        if (relation is not null)
            throw new UserInputException($"--state {stateDir} and --out {outDir}: {relation}. The state folder holds the CA and signing keys, " +
                                         "and keys must never land beside the bundles: choose two folders apart from each other");
    }

    /// <summary>
    /// SPEC §6: a build that would make a new CA (none in state) while the output folder holds bundles signed by a key
    /// other than this state's refuses, unless --new-cluster: those nodes would not trust anything it builds.
    /// </summary>
    private static void CheckNewCluster(BuildInputs inputs)
    {
        var ca = CertificateTable.Expand(inputs.Site).First(i => i.Id == CertificateTable.Ca).CertificateFile;
        if (inputs.Options.NewCluster || File.Exists(Path.Combine(inputs.StateDir, ca)))
            return;
        var shipped = Path.Combine(inputs.OutDir, BundleLayout.PublicKeyFile);
        var bundles = Directory.EnumerateFiles(inputs.OutDir, "*" + BundleLayout.RunExtension).Any();
        if (!File.Exists(shipped) && !bundles)
            return;
        var ours = Path.Combine(inputs.StateDir, Signing.SigningKey.PublicFile);
        if (File.Exists(shipped) && File.Exists(ours) && File.ReadAllText(shipped) == File.ReadAllText(ours))
            return;
        var key = File.Exists(shipped) ? $"signing key sha256:{Fingerprint(shipped)}" : "a signing key this state does not have";
        throw new UserInputException(
            $"--out {inputs.OutDir} holds bundles signed by another key ({key}), and --state {inputs.StateDir} has no CA: this build would make a " +
            "new cluster CA, which the nodes installed from those bundles do not trust. Point --state at the state folder those bundles were " +
            "built with (the default is beside the site file), or pass --new-cluster to build a new cluster over them");
    }

    private static string Fingerprint(string publicKeyPem)
    {
        try
        {
            using var key = ECDsa.Create();
            key.ImportFromPem(File.ReadAllText(publicKeyPem));
            return Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()));
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            return "unreadable";
        }
    }

    private static BuildLock Lock(string option, string path, string what, UnixFileMode? mode)
    {
        Writable(option, path, mode);
        return BuildLock.Acquire(path, what, mode);
    }

    /// <summary>Makes the folder if missing and proves this user can write in it, or says which option names it.</summary>
    private static void Writable(string option, string path, UnixFileMode? mode)
    {
        try
        {
            if (!Directory.Exists(path))
            {
                if (mode is { } m && !OperatingSystem.IsWindows())
                    Directory.CreateDirectory(path, m);
                else
                    Directory.CreateDirectory(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"{option} {path}: cannot create the folder ({e.Message}); choose another with {option}");
        }
        var probe = AtomicFile.TempName(Path.Combine(path, "probe"));
        try
        {
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"{option} {path}: cannot write in the folder ({e.Message}); choose another with {option}");
        }
    }

    private static bool Inside(string inner, string outer) => inner.StartsWith(outer.TrimEnd('/') + "/", StringComparison.Ordinal);

    /// <summary>The full path with every link in its existing part resolved (the rest as given).</summary>
    private static string Real(string path)
    {
        var current = "/";
        foreach (var part in Path.GetFullPath(path).Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(current, part);
            current = (Directory.Exists(next) ? new DirectoryInfo(next).ResolveLinkTarget(returnFinalTarget: true)?.FullName : null) ?? next;
        }
        return current;
    }

    private sealed class Both(BuildLock state, BuildLock output) : IDisposable
    {
        public void Dispose()
        {
            output.Dispose();
            state.Dispose();
        }
    }
}
