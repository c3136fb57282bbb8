using System.Text.Json;
using System.Text.RegularExpressions;
using Bundler.Configuration;
using Bundler.Render;
using Bundler.Render.Escaping;
using Bundler.Tests.Render.Escaping;
using Tomlyn;
using Tomlyn.Model;
using Xunit.Abstractions;
using YamlDotNet.RepresentationModel;

namespace Bundler.Tests.Render;

/// <summary>
/// Defence in depth: the site and lock validation already refuses control characters, but the renderer must be
/// safe on its own. Every shipped template is rendered with the real model of the example site in which one value at
/// a time is hostile; each file must either keep the structure of its clean render (same directives, arguments,
/// keys, lines: parsed by a real parser or a reader written from the format's documentation) or be refused with
/// the template's file:line:column.
/// </summary>
[Collection(RenderCollection.Name)]
public sealed partial class HostileValueTests(RenderFixture fixture, ITestOutputHelper output)
{
    /// <summary>Breaks out of any unescaped place: word, quote, comment, key, specifier, variable, directive, block.</summary>
    private const string Breakout = "x y%n$HOME;{}'\"\\#: -[a]`id`$(id)";

    /// <summary>Adds a directive to a unit, a key to YAML and a line to everything else, if placed as it is.</summary>
    private const string NewLine = "x\nExecStartPre=/bin/sh -c id\nkey: injected\n[Service]";

    [Fact]
    public void GivenEveryTemplateAndOneHostileModelValueAtATime_WhenRendered_ThenTheFileKeepsItsStructureOrIsRefusedAtTheTemplatesLine()
    {
        var templates = TemplateSet.Open(RenderFixture.ShippedTemplates);
        var rendered = new Dictionary<FileFormat, int>();
        var refused = new Dictionary<FileFormat, int>();
        foreach (var spec in TemplateCatalog.All)
        {
            var node = fixture.Site.Nodes.First(n => spec.When(fixture.Site, n));
            var format = FileFormats.Of(spec);
            var model = Model(spec, node);
            var clean = templates.Render(spec.Template, format, model);
            var shape = Structure(format, clean);
            foreach (var leaf in Leaves(model))
            {
                foreach (var hostile in new[] { Breakout, NewLine })
                {
                    string text;
                    try
                    {
                        text = templates.Render(spec.Template, format, With(model, leaf, hostile));
                    }
                    catch (UserInputException e)
                    {
                        var source = templates.PathOf(spec.Template);
                        var match = Regex.Match(e.Message, "^" + Regex.Escape(source) + @":(\d+):(\d+): \S");
                        Assert.True(match.Success, $"{spec.Template} {leaf}: the error does not start with the template's file:line:column: {e.Message}");
                        var line = File.ReadAllLines(source)[int.Parse(match.Groups[1].Value) - 1];
                        Assert.Contains("{{", line, StringComparison.Ordinal);
                        Assert.DoesNotContain("ExecStartPre=/bin/sh", e.Message, StringComparison.Ordinal);
                        refused[format] = refused.GetValueOrDefault(format) + 1;
                        continue;
                    }
                    if (text == clean)
                        break; // this template does not place the value
                    Assert.True(shape.SequenceEqual(Structure(format, text)),
                        $"{spec.Template} with {leaf} = {JsonSerializer.Serialize(hostile)} changed the file's structure:\n{text}");
                    Assert.True(format is not (FileFormat.Systemd or FileFormat.Lines or FileFormat.Nginx) || hostile != NewLine,
                        $"{spec.Template}: a line break was rendered into {format}");
                    rendered[format] = rendered.GetValueOrDefault(format) + 1;
                }
            }
        }
        output.WriteLine($"rendered: {JsonSerializer.Serialize(rendered)}; refused: {JsonSerializer.Serialize(refused)}");
        // Not vacuous: every format both carried hostile values (escaped) and refused some.
        foreach (var format in new[] { FileFormat.Systemd, FileFormat.Yaml, FileFormat.Toml, FileFormat.Json })
            Assert.True(rendered.GetValueOrDefault(format) > 0, $"no hostile value was rendered into {format}");
        foreach (var format in new[] { FileFormat.Systemd, FileFormat.Yaml, FileFormat.Nginx, FileFormat.Lines })
            Assert.True(refused.GetValueOrDefault(format) > 0, $"no hostile value was refused in {format}");
    }

    private Dictionary<string, object?> Model(TemplateSpec spec, NodeSpec node)
    {
        var model = RenderModel.For(fixture.Site, node, RenderFixture.Versions, fixture.Pki, fixture.Images);
        return spec.Identity is null ? model : RenderModel.ForKubeconfig(model, fixture.Site, node, spec, fixture.Pki);
    }

    /// <summary>Every string in the model, by path ("site.name", "masters.1.ip", "modules.0").</summary>
    private static List<string> Leaves(object? node, string path = "")
    {
        var leaves = new List<string>();
        switch (node)
        {
            case string:
                leaves.Add(path);
                break;
            case IDictionary<string, object?> map:
                foreach (var (key, value) in map)
                    leaves.AddRange(Leaves(value, path.Length == 0 ? key : $"{path}.{key}"));
                break;
            case System.Collections.IList list:
                for (var i = 0; i < list.Count; i++)
                    leaves.AddRange(Leaves(list[i], $"{path}.{i}"));
                break;
        }
        return leaves;
    }

    /// <summary>A deep copy of the model with the string at <paramref name="path"/> replaced.</summary>
    private static Dictionary<string, object?> With(Dictionary<string, object?> model, string path, string value) =>
        (Dictionary<string, object?>)Copy(model, path.Split('.'), 0, value)!;

    private static object? Copy(object? node, string[] path, int depth, string value) => node switch
    {
        _ when depth == path.Length => value,
        IDictionary<string, object?> map => map.ToDictionary(kv => kv.Key, kv => kv.Key == path[depth] ? Copy(kv.Value, path, depth + 1, value) : Clone(kv.Value)),
        List<string> list => list.Select((v, i) => i.ToString(System.Globalization.CultureInfo.InvariantCulture) == path[depth] ? value : v).ToList(),
        System.Collections.IList list => list.Cast<object?>()
            .Select((v, i) => i.ToString(System.Globalization.CultureInfo.InvariantCulture) == path[depth] ? Copy(v, path, depth + 1, value) : Clone(v))
            .Cast<Dictionary<string, object?>>().ToList(),
        _ => node,
    };

    private static object? Clone(object? node) => node switch
    {
        IDictionary<string, object?> map => map.ToDictionary(kv => kv.Key, kv => Clone(kv.Value)),
        _ => node,
    };

    /// <summary>What a reader of the format sees, without the values: the thing a hostile value must not change.</summary>
    private static List<string> Structure(FileFormat format, string text) => format switch
    {
        FileFormat.Systemd => SystemdReader.Settings(text).SelectMany(s =>
            s.Key.StartsWith("Exec", StringComparison.Ordinal)
                ? SystemdReader.Commands(s.Value, PrefixOf(s.Value))
                    .Select(c => $"[{s.Section}] {s.Key} {c.Count} arguments, {c.Sum(a => a.Count(ch => ch == SystemdReader.Variable))} variables")
                : s.Key == "Environment"
                    ? SystemdReader.Assignments(s.Value).Select(a => $"[{s.Section}] Environment {a.Name}")
                    : [$"[{s.Section}] {s.Key}"]).ToList(),
        FileFormat.Yaml => YamlPaths(text),
        FileFormat.Toml => TomlPaths(TomlSerializer.Deserialize<TomlTable>(text)!, ""),
        FileFormat.Json => JsonPaths(JsonDocument.Parse(text).RootElement, ""),
        FileFormat.Nginx => NginxReader.Read(text).Select(d => $"{(d.Arguments.Count > 0 ? d.Arguments[0] : "")} {d.Arguments.Count} {d.End}").ToList(),
        FileFormat.Lines => text.Split('\n').Where(l => l.Trim().Length > 0 && l.TrimStart()[0] is not ('#' or ';'))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList(),
        FileFormat.Shell => ShellReader.Commands(text),
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>The prefix a shipped template writes before a command (containerd: "-/sbin/modprobe").</summary>
    private static string PrefixOf(string command) => command.StartsWith('-') ? "-" : "";

    private static List<string> YamlPaths(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return stream.Documents.SelectMany((d, i) => YamlPaths(d.RootNode, $"{i}")).ToList();
    }

    private static IEnumerable<string> YamlPaths(YamlNode node, string path) => node switch
    {
        YamlMappingNode map => map.Children.SelectMany(kv => YamlPaths(kv.Value, $"{path}.{((YamlScalarNode)kv.Key).Value}")),
        YamlSequenceNode list => list.Children.SelectMany((item, i) => YamlPaths(item, $"{path}[{i}]")),
        _ => [path],
    };

    private static List<string> TomlPaths(TomlTable table, string path) => table.SelectMany(kv => kv.Value switch
    {
        TomlTable inner => TomlPaths(inner, $"{path}.{kv.Key}"),
        TomlArray array => array.Select((_, i) => $"{path}.{kv.Key}[{i}]"),
        _ => [$"{path}.{kv.Key}"],
    }).ToList();

    private static List<string> JsonPaths(JsonElement element, string path) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().SelectMany(p => JsonPaths(p.Value, $"{path}.{p.Name}")).ToList(),
        JsonValueKind.Array => element.EnumerateArray().SelectMany((e, i) => JsonPaths(e, $"{path}[{i}]")).ToList(),
        _ => [path],
    };
}
