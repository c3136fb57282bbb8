namespace Bundler.Tests;

/// <summary>
/// What a test may need that a machine may lack. Away from CI such a test is SKIPPED with the reason, never green; under
/// CI=true it always runs (.ci/run installs and prepares everything), so a missing prerequisite fails it loudly.
/// </summary>
internal static class Requirement
{
    public static bool InCi => Environment.GetEnvironmentVariable("CI") == "true";

    /// <summary>Why the test cannot run here (tools not on PATH), or null when it can.</summary>
    public static string? Tools(IEnumerable<string> tools)
    {
        var missing = tools.Where(t => ProcessRunner.Find(t) is null).ToList();
        return missing.Count == 0 ? null : $"needs {string.Join(", ", missing)} on PATH (.ci/run installs {(missing.Count == 1 ? "it" : "them")})";
    }

    public static string? Root => Environment.IsPrivilegedProcess ? null : "needs root";

    /// <summary>The skip text when <paramref name="why"/> says the test cannot run and this is not CI; else null (run).</summary>
    public static string? SkipUnlessCi(string? why) => why is null || InCi ? null : $"SKIPPED: {why}";
}

/// <summary>A fact that needs these tools on PATH.</summary>
public sealed class ToolFactAttribute : FactAttribute
{
    public ToolFactAttribute(params string[] tools) => Skip = Requirement.SkipUnlessCi(Requirement.Tools(tools));
}

/// <summary>A theory that needs these tools on PATH.</summary>
public sealed class ToolTheoryAttribute : TheoryAttribute
{
    public ToolTheoryAttribute(params string[] tools) => Skip = Requirement.SkipUnlessCi(Requirement.Tools(tools));
}

/// <summary>A fact that needs root (and these tools), e.g. to mount a filesystem.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute(params string[] tools) => Skip = Requirement.SkipUnlessCi(Requirement.Root ?? Requirement.Tools(tools));
}

/// <summary>
/// The end-to-end test: needs root, network namespaces and the nginx source (KBUNDLE_NGINX_TEST_SOURCE). CI sets
/// KBUNDLE_REQUIRE_E2E=1 (and CI=true): there it always runs.
/// </summary>
public sealed class EndToEndFactAttribute : FactAttribute
{
    public EndToEndFactAttribute()
    {
        if (Requirement.InCi || Environment.GetEnvironmentVariable("KBUNDLE_REQUIRE_E2E") == "1")
            return;
        var why = EndToEnd.SimulatedHosts.WhyNotSupported()
                  ?? (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Nginx.NginxSourceFactAttribute.Variable))
                      ? $"needs {Nginx.NginxSourceFactAttribute.Variable}=<path of nginx_1.22.1.orig.tar.gz> (.ci/run sets it)"
                      : null);
        Skip = why is null ? null : $"SKIPPED: END-TO-END TEST NOT RUN: {why}";
    }
}
