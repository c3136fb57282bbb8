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
/// /readyz writes and reads a key in etcd through --etcd-servers with the --etcd-* client certificate, and a
/// tiny object store so `kubectl apply` of the bootstrap RBAC manifests works.
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
        var store = new Dictionary<string, JsonNode>();

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
        // kubectl apply validates against the server's OpenAPI v3 documents: serve one for RBAC whose schemas
        // accept any object, so the real kubectl's apply path runs unmodified.
        app.MapGet("/openapi/v3", () => Results.Json(new
        {
            paths = new Dictionary<string, object> { ["apis/rbac.authorization.k8s.io/v1"] = new { serverRelativeURL = "/openapi/v3/apis/rbac.authorization.k8s.io/v1?hash=standin" } },
        }));
        app.MapGet("/openapi/v3/apis/rbac.authorization.k8s.io/v1", () => Results.Json(Discovery.RbacOpenApi));
        app.MapGet("/api", () => Results.Json(new { kind = "APIVersions", versions = new[] { "v1" } }));
        app.MapGet("/apis", () => Results.Json(Discovery.Groups));
        app.MapGet("/apis/rbac.authorization.k8s.io/v1", () => Results.Json(Discovery.Rbac));
        app.MapGet("/api/v1", () => Results.Json(new { kind = "APIResourceList", groupVersion = "v1", resources = Array.Empty<object>() }));
        app.MapGet("/apis/{group}/{version}/{resource}/{name}", (string group, string version, string resource, string name) =>
        {
            lock (store)
                return store.TryGetValue($"{group}/{resource}/{name}", out var o) ? Results.Json(o) : Results.Json(NotFound(resource, name), statusCode: 404);
        });
        app.MapMethods("/apis/{group}/{version}/{resource}/{name}", ["PATCH", "PUT"], async (HttpRequest r, string group, string version, string resource, string name) =>
        {
            var body = await JsonNode.ParseAsync(r.Body) ?? new JsonObject();
            lock (store)
                store[$"{group}/{resource}/{name}"] = body;
            await etcd.PutAsync($"/registry/{resource}/{name}", body.ToJsonString());
            return Results.Json(body);
        });
        app.MapPost("/apis/{group}/{version}/{resource}", async (HttpRequest r, string group, string version, string resource) =>
        {
            var body = await JsonNode.ParseAsync(r.Body) ?? new JsonObject();
            var name = body["metadata"]?["name"]?.GetValue<string>() ?? "unnamed";
            lock (store)
                store[$"{group}/{resource}/{name}"] = body;
            await etcd.PutAsync($"/registry/{resource}/{name}", body.ToJsonString());
            return Results.Json(body, statusCode: 201);
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

internal static class Discovery
{
    private static object Schema(string kind) => new
    {
        type = "object",
        additionalProperties = true,
        x_kubernetes_group_version_kind = new[] { new { group = "rbac.authorization.k8s.io", kind, version = "v1" } },
    };

    private static object Patch(string kind) => new
    {
        patch = new
        {
            x_kubernetes_group_version_kind = new { group = "rbac.authorization.k8s.io", kind, version = "v1" },
            parameters = new[] { new { name = "fieldValidation", @in = "query", schema = new { type = "string" } } },
            responses = new Dictionary<string, object> { ["200"] = new { description = "OK" } },
        },
    };

    public static readonly System.Text.Json.Nodes.JsonNode RbacOpenApi = System.Text.Json.Nodes.JsonNode.Parse(
        JsonSerializer.Serialize(new
        {
            openapi = "3.0.0",
            info = new { title = "Kubernetes", version = "v1.36.0" },
            // A PATCH operation that takes fieldValidation tells kubectl the server validates fields itself.
            paths = new Dictionary<string, object>
            {
                ["/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{name}"] = Patch("ClusterRoleBinding"),
                ["/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}"] = Patch("ClusterRole"),
            },
            components = new { schemas = new Dictionary<string, object>
            {
                ["io.k8s.api.rbac.v1.ClusterRoleBinding"] = Schema("ClusterRoleBinding"),
                ["io.k8s.api.rbac.v1.ClusterRole"] = Schema("ClusterRole"),
            } },
        }).Replace("x_kubernetes_group_version_kind", "x-kubernetes-group-version-kind", StringComparison.Ordinal))!;

    public static readonly object Groups = new
    {
        kind = "APIGroupList", apiVersion = "v1",
        groups = new[] { new { name = "rbac.authorization.k8s.io", versions = new[] { new { groupVersion = "rbac.authorization.k8s.io/v1", version = "v1" } },
            preferredVersion = new { groupVersion = "rbac.authorization.k8s.io/v1", version = "v1" } } },
    };

    public static readonly object Rbac = new
    {
        kind = "APIResourceList", apiVersion = "v1", groupVersion = "rbac.authorization.k8s.io/v1",
        resources = new[]
        {
            new { name = "clusterrolebindings", singularName = "clusterrolebinding", namespaced = false, kind = "ClusterRoleBinding", verbs = new[] { "create", "get", "list", "patch", "update" } },
            new { name = "clusterroles", singularName = "clusterrole", namespaced = false, kind = "ClusterRole", verbs = new[] { "create", "get", "list", "patch", "update" } },
        },
    };
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
