using System.Diagnostics;
using System.Reflection;

namespace Build;

// A minimal stand-in for Cake.Frosting's hosting model (Cake.Frosting is not served by the package registry
// here). Same names and shape: FrostingTask<TContext>, [TaskName], [IsDependentOn], a typed context and a
// task/duration/status summary at the end of a run.

[AttributeUsage(AttributeTargets.Class)]
public sealed class TaskNameAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class IsDependentOnAttribute(Type task) : Attribute
{
    public Type Task { get; } = task;
}

public abstract class FrostingTask<TContext>
{
    public virtual bool ShouldRun(TContext context) => true;

    public abstract Task RunAsync(TContext context);
}

public sealed class BuildFailedException(string message) : Exception(message);

public sealed record TaskOutcome(string Name, TimeSpan Duration, string Status);

/// <summary>Runs a target and its dependencies (each once, dependencies first) and prints the summary.</summary>
public sealed class TaskHost<TContext>
{
    private readonly Dictionary<string, Type> _tasks;

    public TaskHost(Assembly assembly)
    {
        _tasks = assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(FrostingTask<TContext>).IsAssignableFrom(t))
            .ToDictionary(t => NameOf(t), StringComparer.OrdinalIgnoreCase);
    }

    public IEnumerable<string> TaskNames => _tasks.Keys.Order();

    public static string NameOf(Type task) => task.GetCustomAttribute<TaskNameAttribute>()?.Name ?? task.Name.Replace("Task", "");

    public async Task<int> RunAsync(string target, TContext context, TextWriter output)
    {
        if (!_tasks.TryGetValue(target, out var targetType))
        {
            output.WriteLine($"error: unknown target '{target}'; targets: {string.Join(", ", TaskNames)}");
            return 2;
        }
        var order = new List<Type>();
        Visit(targetType, order, []);
        var outcomes = new List<TaskOutcome>();
        var failed = false;
        foreach (var type in order)
        {
            var name = NameOf(type);
            if (failed)
            {
                outcomes.Add(new TaskOutcome(name, TimeSpan.Zero, "Not run"));
                continue;
            }
            var task = (FrostingTask<TContext>)Activator.CreateInstance(type)!;
            if (!task.ShouldRun(context))
            {
                outcomes.Add(new TaskOutcome(name, TimeSpan.Zero, "Skipped"));
                continue;
            }
            output.WriteLine();
            output.WriteLine($"========================================\n{name}\n========================================");
            var clock = Stopwatch.StartNew();
            try
            {
                await task.RunAsync(context);
                outcomes.Add(new TaskOutcome(name, clock.Elapsed, "Succeeded"));
            }
            catch (BuildFailedException e)
            {
                output.WriteLine($"error: {e.Message}");
                outcomes.Add(new TaskOutcome(name, clock.Elapsed, "Failed"));
                failed = true;
            }
        }
        WriteSummary(outcomes, output);
        return failed ? 1 : 0;
    }

    private void Visit(Type type, List<Type> order, HashSet<Type> visiting)
    {
        if (order.Contains(type))
            return;
        if (!visiting.Add(type))
            throw new InvalidOperationException($"dependency cycle through {NameOf(type)}");
        foreach (var dependency in type.GetCustomAttributes<IsDependentOnAttribute>())
            Visit(dependency.Task, order, visiting);
        order.Add(type);
    }

    private static void WriteSummary(List<TaskOutcome> outcomes, TextWriter output)
    {
        output.WriteLine();
        output.WriteLine($"{"Task",-24}{"Duration",-16}{"Status"}");
        output.WriteLine(new string('-', 52));
        foreach (var o in outcomes)
            output.WriteLine($"{o.Name,-24}{o.Duration:hh\\:mm\\:ss\\.ff}     {o.Status}");
        output.WriteLine(new string('-', 52));
        var total = outcomes.Aggregate(TimeSpan.Zero, (s, o) => s + o.Duration);
        output.WriteLine($"{"Total:",-24}{total:hh\\:mm\\:ss\\.ff}");
    }
}
