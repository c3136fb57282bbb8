using System.Diagnostics;

namespace Build;

/// <summary>The typed context every task receives: parsed arguments, repository paths, and the one place that starts processes.</summary>
public sealed class BuildContext
{
    public BuildContext(string root, IReadOnlyDictionary<string, List<string>> arguments)
    {
        Root = root;
        Arguments = arguments;
        Configuration = Argument("configuration") ?? "Release";
    }

    public string Root { get; }
    public IReadOnlyDictionary<string, List<string>> Arguments { get; }
    public string Configuration { get; }
    public string Solution => Path.Combine(Root, "Bundler.sln");
    public string ArtifactsDir => Path.Combine(Root, "artifacts");
    public string Cli => Path.Combine(Root, "src", "Bundler.Cli", "bin", Configuration, "net10.0", "kbundle.dll");

    /// <summary>Test results line, printed last so CI reads the runner's count.</summary>
    public string? TestSummary { get; set; }

    public string? Argument(string name) => Arguments.TryGetValue(name, out var values) ? values[^1] : null;

    public bool HasArgument(string name) => Arguments.ContainsKey(name);

    /// <summary>Runs a process in the repository root, streaming its output; throws when it exits non-zero.</summary>
    public int Run(string file, IEnumerable<string> arguments, bool throwOnError = true, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = Root, UseShellExecute = false };
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
            info.Environment[k] = v;
        Console.WriteLine($"> {file} {string.Join(' ', info.ArgumentList.Select(a => a.Contains(' ') ? $"\"{a}\"" : a))}");
        using var process = Process.Start(info) ?? throw new BuildFailedException($"could not start {file}");
        process.WaitForExit();
        if (throwOnError && process.ExitCode != 0)
            throw new BuildFailedException($"{Path.GetFileName(file)} exited with code {process.ExitCode}");
        return process.ExitCode;
    }

    public int Dotnet(params string[] arguments) => Run("dotnet", arguments);
}
