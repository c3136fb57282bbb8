namespace Bundler.Pipeline;

/// <summary>
/// One pipeline step. Each says, in one comment at its top, what it reads and writes, and takes its inputs
/// from the <see cref="BuildContext"/> slots the steps before it filled.
/// </summary>
public interface IStep
{
    StepName Name { get; }

    /// <summary>What the step reads, for the summary and the docs (e.g. "site, lock").</summary>
    string Reads { get; }

    /// <summary>What the step writes (e.g. "cache/sha256/*").</summary>
    string Writes { get; }

    Task RunAsync(BuildContext context, CancellationToken cancellationToken);
}
