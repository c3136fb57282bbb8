using Build;

// Usage: ./build.sh [--target Bundle|Test|Publish|Bench|Clean] [--site FILE] [--configuration Release]
//                   [kbundle build options: --pins --mirror --cache --state --out --offline --until --templates --renew --json]
var parsed = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
for (var i = 0; i < args.Length; i++)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal))
    {
        Console.Error.WriteLine($"error: unexpected argument '{args[i]}'; options start with --");
        return 2;
    }
    var name = args[i][2..];
    var value = "true";
    if (name.Contains('='))
        (name, value) = (name[..name.IndexOf('=')], name[(name.IndexOf('=') + 1)..]);
    else if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
        value = args[++i];
    if (!parsed.TryGetValue(name, out var list))
        parsed[name] = list = [];
    list.Add(value);
}

if (parsed.ContainsKey("help"))
{
    Console.WriteLine("""
        ./build.sh [--target TARGET] [--site FILE] [--configuration Release|Debug] [--no-build] [kbundle build options]
        Targets: Bundle (default), Test, Publish, Bench, Clean.
        Bundle passes --pins, --mirror, --cache, --state, --out, --offline, --until, --templates, --renew, --json to 'kbundle build'.
        """);
    return 0;
}

var root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", ".."));
if (!File.Exists(Path.Combine(root, "Bundler.sln")))
    root = Directory.GetCurrentDirectory();
var context = new BuildContext(root, parsed);
var host = new TaskHost<BuildContext>(typeof(Program).Assembly);
var code = await host.RunAsync(context.Argument("target") ?? "Bundle", context, Console.Out);
if (context.TestSummary is not null)
    Console.WriteLine(context.TestSummary);
return code;
