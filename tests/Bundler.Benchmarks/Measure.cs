using System.Diagnostics;
using System.Globalization;

namespace Bundler.Benchmarks;

/// <summary>One result line per goal: measured, anchor, ratio, and whether the goal holds.</summary>
internal static class Measure
{
    public static void Report(string goal, TimeSpan measured, string anchorName, TimeSpan anchor, double limit)
    {
        var ratio = measured.TotalSeconds / anchor.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"GOAL {goal,-40} {measured.TotalSeconds,8:0.000} s  vs {anchorName,-32} {anchor.TotalSeconds,8:0.000} s  ratio {ratio,6:0.000} (goal <= {limit:0.00}) {(ratio <= limit ? "MET" : "MISSED")}"));
    }

    public static void Absolute(string goal, TimeSpan measured, TimeSpan limit) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"GOAL {goal,-40} {measured.TotalSeconds,8:0.000} s  (goal < {limit.TotalSeconds:0.0} s) {(measured < limit ? "MET" : "MISSED")}"));

    public static TimeSpan Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed;
    }

    /// <summary>Runs an anchor (a stock tool's command line) through the library's one process runner; fails loudly.</summary>
    public static void Shell(string commandLine)
    {
        var result = ProcessRunner.RunAsync("bash", ["-c", commandLine]).GetAwaiter().GetResult();
        if (!result.Succeeded)
            throw new InvalidOperationException($"{commandLine}: {result.Tail()}");
    }
}
