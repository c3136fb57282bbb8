using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Server.Kestrel.Https;

// TEST STAND-IN. Usage: Bundler.StandIns <component> [real component flags...]
// Environment: KBE_FLAG_LISTS = folder with <component>.flags reference lists (one flag name per line).
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Bundler.StandIns kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kube-proxy [flags]");
    return 2;
}
var component = args[0];
var flags = Flags.Parse(component, args[1..]);
if (flags is null)
    return 1;
Console.WriteLine($"[stand-in {component}] started with {args.Length - 1} flags (TEST STAND-IN, not the real binary)");

return component switch
{
    "kube-apiserver" => await ApiServer.RunAsync(flags),
    "kube-controller-manager" => await Health.RunAsync(flags, defaultPort: 10257, https: true),
    "kube-scheduler" => await Health.RunAsync(flags, defaultPort: 10259, https: true),
    "kubelet" => await Health.RunAsync(flags, defaultPort: 10248, https: false, bind: "127.0.0.1"),
    "kube-proxy" => await Health.RunAsync(flags, defaultPort: 10256, https: false),
    _ => Fail($"unknown component {component}"),
};

static int Fail(string message)
{
    Console.Error.WriteLine(message);
    return 2;
}

/// <summary>Flag parsing as the real binaries do it: --name=value or --name value; unknown names exit.</summary>
internal static class Flags
{
    public static Dictionary<string, string>? Parse(string component, string[] args)
    {
        var known = Known(component);
        var result = new Dictionary<string, string>();
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal))
            {
                Console.Error.WriteLine($"Error: unexpected argument \"{a}\"");
                return null;
            }
            var name = a[2..];
            var value = "true";
            var eq = name.IndexOf('=');
            if (eq >= 0)
                (name, value) = (name[..eq], name[(eq + 1)..]);
            else if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
                value = args[++i];
            if (known is not null && !known.Contains(name))
            {
                Console.Error.WriteLine($"Error: unknown flag: --{name}");
                return null;
            }
            result[name] = value;
        }
        return result;
    }

    private static HashSet<string>? Known(string component)
    {
        var dir = Environment.GetEnvironmentVariable("KBE_FLAG_LISTS");
        var file = dir is null ? null : Path.Combine(dir, component + ".flags");
        if (file is null || !File.Exists(file))
            return null;
        return File.ReadLines(file).Where(l => l.Length > 0 && l[0] != '#')
            .Select(l => l.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[0]).ToHashSet();
    }

    public static string Get(this Dictionary<string, string> flags, string name, string fallback) =>
        flags.TryGetValue(name, out var v) ? v : fallback;
}

/// <summary>healthz endpoints of controller-manager, scheduler, kubelet and kube-proxy.</summary>
internal static class Health
{
    public static async Task<int> RunAsync(Dictionary<string, string> flags, int defaultPort, bool https, string bind = "0.0.0.0")
    {
        var port = int.Parse(flags.Get("secure-port", flags.Get("healthz-port", defaultPort.ToString())));
        var address = flags.Get("bind-address", bind);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Parse(address), port, l =>
        {
            if (https)
                l.UseHttps(SelfSigned());   // the real components serve a self-signed cert generated in memory
        }));
        var app = builder.Build();
        app.MapGet("/healthz", () => "ok");
        app.MapGet("/livez", () => "ok");
        app.MapGet("/readyz", () => "ok");
        await app.RunAsync();
        return 0;
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=stand-in", key, HashAlgorithmName.SHA256);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }
}

/// <summary>
/// kube-apiserver stand-in: HTTPS with --tls-cert-file, client certificates required from --client-ca-file,
/// /readyz writes and reads a key in etcd through --etcd-servers with the --etcd-* client certificate, and an object
/// store in etcd (so every master's stand-in sees what one was given) with the discovery and OpenAPI v3 documents the
/// real kubectl reads, so `kubectl apply --server-side` of the bootstrap RBAC and the CoreDNS add-on, and `kubectl get`,
/// run unmodified. It applies by replacing the whole object (no field ownership): a stand-in, not an apiserver. Every
/// write is logged as "[stand-in kube-apiserver] APPLY|UPDATE|CREATE path" so a test can count them.
/// </summary>
internal static class ApiServer
{
    public static async Task<int> RunAsync(Dictionary<string, string> flags)
    {
        var cert = X509Certificate2.CreateFromPemFile(flags["tls-cert-file"], flags["tls-private-key-file"]);
        cert = X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
        var clientCa = X509CertificateLoader.LoadCertificateFromFile(flags["client-ca-file"]);
        var port = int.Parse(flags.Get("secure-port", "6443"));
        var etcd = new EtcdClient(flags);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Parse(flags.Get("bind-address", "0.0.0.0")), port, l => l.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = cert,
            ClientCertificateMode = ClientCertificateMode.RequireCertificate,
            ClientCertificateValidation = (client, _, _) => Chains(client, clientCa),
        })));
        var app = builder.Build();
        app.MapGet("/readyz", async () =>
        {
            var value = $"ready-{DateTime.UtcNow:O}";
            await etcd.PutAsync("/registry/stand-in/readyz", value);
            var read = await etcd.GetAsync("/registry/stand-in/readyz");
            return read == value ? Results.Text("ok") : Results.Text($"etcd returned '{read}'", statusCode: 500);
        });
        app.MapGet("/livez", () => "ok");
        app.MapGet("/healthz", () => "ok");
        app.MapGet("/version", () => Results.Json(new { major = "1", minor = "36", gitVersion = "v1.36.0-stand-in" }));
        // kubectl validates against the server's OpenAPI v3 documents: one per group version, whose schemas accept any
        // object and whose PATCH operations take fieldValidation (so kubectl leaves validation to the server).
        app.MapGet("/openapi/v3", () => Results.Json(new
        {
            paths = Discovery.GroupVersions.ToDictionary(g => g.Path, g => (object)new { serverRelativeURL = $"/openapi/v3/{g.Path}?hash=standin" }),
        }));
        app.MapGet("/openapi/v3/{**path}", (string path) =>
            Discovery.GroupVersions.FirstOrDefault(g => g.Path == path) is { } gv ? Results.Json(Discovery.OpenApi(gv)) : Results.NotFound());
        app.MapGet("/api", () => Results.Json(new { kind = "APIVersions", versions = new[] { "v1" } }));
        app.MapGet("/apis", () => Results.Json(Discovery.Groups));
        app.MapGet("/api/v1", () => Results.Json(Discovery.ResourceList(Discovery.GroupVersions[0])));
        app.MapGet("/apis/{group}/{version}", (string group, string version) =>
            Discovery.GroupVersions.FirstOrDefault(g => g.Group == group && g.Version == version) is { } gv
                ? Results.Json(Discovery.ResourceList(gv)) : Results.NotFound());
        app.MapMethods("/{**path}", ["GET", "PATCH", "PUT", "POST"], async (HttpRequest request, string path) =>
        {
            if (ObjectPath.Parse(path, request.Method == "POST") is not { } target)
                return Results.NotFound();
            var key = $"/registry/{target.Group}/{target.Resource}/{target.Namespace ?? "-"}/{target.Name}";
            if (request.Method == "GET")
            {
                var stored = await etcd.GetAsync(key);
                return stored is null ? Results.Json(NotFound(target.Resource, target.Name!), statusCode: 404) : Results.Text(stored, "application/json");
            }
            var body = await JsonNode.ParseAsync(request.Body) ?? new JsonObject();
            var name = target.Name ?? body["metadata"]?["name"]?.GetValue<string>() ?? "unnamed";
            key = $"/registry/{target.Group}/{target.Resource}/{target.Namespace ?? "-"}/{name}";
            var metadata = body["metadata"] as JsonObject ?? new JsonObject();
            body["metadata"] = metadata;
            metadata["name"] = name;
            if (target.Namespace is not null)
                metadata["namespace"] = target.Namespace;
            metadata["uid"] ??= Guid.NewGuid().ToString();
            metadata["resourceVersion"] = DateTime.UtcNow.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var created = await etcd.GetAsync(key) is null;
            await etcd.PutAsync(key, body.ToJsonString());
            var verb = request.ContentType?.StartsWith("application/apply-patch", StringComparison.Ordinal) == true ? "APPLY" : created ? "CREATE" : "UPDATE";
            Console.WriteLine($"[stand-in kube-apiserver] {verb} /{path} fieldManager={request.Query["fieldManager"]} force={request.Query["force"]}");
            return Results.Json(body, statusCode: created ? 201 : 200);
        });
        await app.RunAsync();
        return 0;
    }

    private static object NotFound(string resource, string name) => new
    {
        kind = "Status", apiVersion = "v1", status = "Failure", reason = "NotFound", code = 404,
        message = $"{resource} \"{name}\" not found", details = new { name, kind = resource },
    };

    internal static bool Chains(X509Certificate2 leaf, X509Certificate2 root)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }
}

/// <summary>An object's REST path: api/v1[/namespaces/NS]/RESOURCE/NAME or apis/GROUP/VERSION[/namespaces/NS]/RESOURCE/NAME (no NAME for a POST).</summary>
internal sealed record ObjectPath(string Group, string Version, string? Namespace, string Resource, string? Name)
{
    public static ObjectPath? Parse(string path, bool collection)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        string group, version;
        ArraySegment<string> rest;
        if (parts is ["api", var v, ..])
            (group, version, rest) = ("core", v, parts[2..]);
        else if (parts is ["apis", var g, var v2, ..])
            (group, version, rest) = (g, v2, parts[3..]);
        else
            return null;
        string? ns = null;
        if (rest is ["namespaces", var n, _, ..])
            (ns, rest) = (n, rest[2..]);
        return (rest.Count, collection) switch
        {
            (2, false) => new ObjectPath(group, version, ns, rest[0], rest[1]),
            (1, true) => new ObjectPath(group, version, ns, rest[0], null),
            _ => null,
        };
    }
}

internal static class Discovery
{
    public sealed record Resource(string Name, string Singular, string Kind, bool Namespaced);

    public sealed record GroupVersion(string Group, string Version, Resource[] Resources)
    {
        public string Path => Group.Length == 0 ? $"api/{Version}" : $"apis/{Group}/{Version}";
        public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";
    }

    /// <summary>What the bootstrap RBAC and the CoreDNS add-on need; core first.</summary>
    public static readonly GroupVersion[] GroupVersions =
    [
        new("", "v1",
        [
            new("namespaces", "namespace", "Namespace", false), new("serviceaccounts", "serviceaccount", "ServiceAccount", true),
            new("configmaps", "configmap", "ConfigMap", true), new("services", "service", "Service", true),
        ]),
        new("rbac.authorization.k8s.io", "v1",
            [new("clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", false), new("clusterroles", "clusterrole", "ClusterRole", false)]),
        new("apps", "v1", [new("deployments", "deployment", "Deployment", true)]),
    ];

    public static object ResourceList(GroupVersion gv) => new
    {
        kind = "APIResourceList", apiVersion = "v1", groupVersion = gv.ApiVersion,
        resources = gv.Resources.Select(r => new
        {
            name = r.Name, singularName = r.Singular, namespaced = r.Namespaced, kind = r.Kind,
            verbs = new[] { "create", "get", "list", "patch", "update" },
        }),
    };

    public static readonly object Groups = new
    {
        kind = "APIGroupList", apiVersion = "v1",
        groups = GroupVersions.Where(g => g.Group.Length > 0).Select(g => new
        {
            name = g.Group,
            versions = new[] { new { groupVersion = g.ApiVersion, version = g.Version } },
            preferredVersion = new { groupVersion = g.ApiVersion, version = g.Version },
        }),
    };

    public static JsonNode OpenApi(GroupVersion gv)
    {
        object Gvk(Resource r) => new Dictionary<string, object> { ["group"] = gv.Group, ["kind"] = r.Kind, ["version"] = gv.Version };
        var paths = new Dictionary<string, object>();
        var schemas = new Dictionary<string, object>();
        foreach (var r in gv.Resources)
        {
            var path = r.Namespaced ? $"/{gv.Path}/namespaces/{{namespace}}/{r.Name}/{{name}}" : $"/{gv.Path}/{r.Name}/{{name}}";
            // A PATCH operation that takes fieldValidation tells kubectl the server validates fields itself.
            paths[path] = new Dictionary<string, object>
            {
                ["patch"] = new Dictionary<string, object>
                {
                    ["x-kubernetes-group-version-kind"] = Gvk(r),
                    ["parameters"] = new[] { new { name = "fieldValidation", @in = "query", schema = new { type = "string" } } },
                    ["responses"] = new Dictionary<string, object> { ["200"] = new { description = "OK" } },
                },
            };
            schemas[$"io.k8s.api.{(gv.Group.Length == 0 ? "core" : gv.Group.Split('.')[0])}.{gv.Version}.{r.Kind}"] = new Dictionary<string, object>
            {
                ["type"] = "object",
                ["additionalProperties"] = true,
                ["x-kubernetes-group-version-kind"] = new[] { Gvk(r) },
            };
        }
        return JsonNode.Parse(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["openapi"] = "3.0.0",
            ["info"] = new { title = "Kubernetes", version = "v1.36.0" },
            ["paths"] = paths,
            ["components"] = new { schemas },
        }))!;
    }
}

/// <summary>etcd v3 through its JSON gateway (/v3/kv/put, /v3/kv/range), mutual TLS with the --etcd-* files.</summary>
internal sealed class EtcdClient
{
    private readonly HttpClient _http;
    private readonly string[] _servers;

    public EtcdClient(Dictionary<string, string> flags)
    {
        _servers = flags["etcd-servers"].Split(',');
        var ca = X509CertificateLoader.LoadCertificateFromFile(flags["etcd-cafile"]);
        var client = X509Certificate2.CreateFromPemFile(flags["etcd-certfile"], flags["etcd-keyfile"]);
        client = X509CertificateLoader.LoadPkcs12(client.Export(X509ContentType.Pfx), null);
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = [client],
                RemoteCertificateValidationCallback = (_, cert, _, errors) =>
                    cert is not null && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == 0 &&
                    ApiServer.Chains(X509CertificateLoader.LoadCertificate(cert.GetRawCertData()), ca),
            },
        };
        _http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
    }

    public async Task PutAsync(string key, string value) =>
        await SendAsync("/v3/kv/put", new { key = B64(key), value = B64(value) });

    public async Task<string?> GetAsync(string key)
    {
        using var doc = JsonDocument.Parse(await SendAsync("/v3/kv/range", new { key = B64(key) }));
        return doc.RootElement.TryGetProperty("kvs", out var kvs) && kvs.GetArrayLength() > 0
            ? Encoding.UTF8.GetString(Convert.FromBase64String(kvs[0].GetProperty("value").GetString()!))
            : null;
    }

    private async Task<string> SendAsync(string path, object body)
    {
        Exception? last = null;
        foreach (var server in _servers)
        {
            try
            {
                using var response = await _http.PostAsync(server.TrimEnd('/') + path, JsonContent.Create(body));
                response.EnsureSuccessStatusCode();
                return await response.Content.ReadAsStringAsync();
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e;
            }
        }
        throw new InvalidOperationException($"no etcd server answered: {last?.Message}");
    }

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));
}
