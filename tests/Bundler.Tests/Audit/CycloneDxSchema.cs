using System.Text.Json;
using Json.Schema;

namespace Bundler.Tests.Audit;

/// <summary>
/// The official CycloneDX 1.6 JSON schema (TestData/CycloneDx, vendored unchanged), with the two schemas it references
/// resolved from the same folder: a fetch of anything else fails the test instead of reaching the network.
/// </summary>
internal static class CycloneDxSchema
{
    private static readonly Lazy<JsonSchema> Bom = new(() =>
    {
        var registry = new SchemaRegistry
        {
            Fetch = (uri, _) => throw new InvalidOperationException($"the schema would fetch {uri}: only TestData/CycloneDx may be used"),
        };
        var options = new BuildOptions { SchemaRegistry = registry };
        JsonSchema.FromFile(TestPaths.TestData("CycloneDx", "spdx.schema.json"), options);
        JsonSchema.FromFile(TestPaths.TestData("CycloneDx", "jsf-0.82.schema.json"), options);
        return JsonSchema.FromFile(TestPaths.TestData("CycloneDx", "bom-1.6.schema.json"), options);
    });

    /// <summary>Every schema violation of the document ("instance location: error"), empty when it is valid.</summary>
    public static IReadOnlyList<string> Problems(byte[] json)
    {
        using var document = JsonDocument.Parse(json);
        var results = Bom.Value.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
        if (results.IsValid)
            return [];
        return (results.Details ?? []).Prepend(results)
            .SelectMany(d => (d.Errors ?? []).Select(e => $"{d.InstanceLocation} ({d.SchemaLocation}): {e.Key}: {e.Value}"))
            .Distinct().ToList() is { Count: > 0 } problems ? problems : ["invalid, with no error detail"];
    }
}
