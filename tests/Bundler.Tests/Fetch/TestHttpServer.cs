using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Bundler.Tests.Fetch;

/// <summary>A request as the test server saw it.</summary>
public sealed record SeenRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers)
{
    public string? Range => Headers.TryGetValue("range", out var r) ? r : null;
}

/// <summary>
/// A tiny HTTP/1.1 server on 127.0.0.1 (or another loopback address, to play a second host) with one request per
/// connection, whose handler writes raw bytes, so tests can cut a body halfway, stall, or redirect exactly as a
/// misbehaving real server would.
/// </summary>
public sealed class TestHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<SeenRequest, Stream, CancellationToken, Task> _handler;
    private readonly Task _loop;

    public TestHttpServer(Func<SeenRequest, Stream, CancellationToken, Task> handler, IPAddress? address = null)
    {
        _listener = new TcpListener(address ?? IPAddress.Loopback, 0);
        _handler = handler;
        _listener.Start();
        _loop = AcceptLoop();
    }

    public ConcurrentQueue<SeenRequest> Requests { get; } = new();
    public string Host => $"{((IPEndPoint)_listener.LocalEndpoint).Address}:{((IPEndPoint)_listener.LocalEndpoint).Port}";
    public string BaseUrl => $"http://{Host}";
    public CancellationToken Stopping => _stop.Token;

    /// <summary>Serves files by path, honouring "Range: bytes=N-" with 206 like a real static file server.</summary>
    public static Func<SeenRequest, Stream, CancellationToken, Task> Files(IReadOnlyDictionary<string, byte[]> files) =>
        (request, stream, ct) => ServeFile(request, stream, files, ct);

    public static async Task ServeFile(SeenRequest request, Stream stream, IReadOnlyDictionary<string, byte[]> files, CancellationToken ct)
    {
        if (!files.TryGetValue(request.Path, out var body))
        {
            await Respond(stream, "404 Not Found", [], ct);
            return;
        }
        if (request.Range is { } range && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            var from = int.Parse(range["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
            await Respond(stream, "206 Partial Content", body[from..], ct, $"Content-Range: bytes {from}-{body.Length - 1}/{body.Length}");
            return;
        }
        await Respond(stream, "200 OK", body, ct);
    }

    public static async Task Respond(Stream stream, string status, byte[] body, CancellationToken ct, params string[] headers)
    {
        await WriteHead(stream, status, body.Length, ct, headers);
        await stream.WriteAsync(body, ct);
    }

    public static async Task WriteHead(Stream stream, string status, long contentLength, CancellationToken ct, params string[] headers)
    {
        var head = new StringBuilder($"HTTP/1.1 {status}\r\nContent-Length: {contentLength}\r\nConnection: close\r\n");
        foreach (var h in headers)
            head.Append(h).Append("\r\n");
        head.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), ct);
        await stream.FlushAsync(ct);
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            _ = Task.Run(() => Handle(client));
        }
    }

    private async Task Handle(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var request = await ReadRequest(stream);
                Requests.Enqueue(request);
                await _handler(request, stream, _stop.Token);
                await stream.FlushAsync();
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task<SeenRequest> ReadRequest(NetworkStream stream)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (!(bytes.Count >= 4 && bytes[^4] == '\r' && bytes[^3] == '\n' && bytes[^2] == '\r' && bytes[^1] == '\n'))
        {
            if (await stream.ReadAsync(one) == 0)
                throw new IOException("client closed before sending a request");
            bytes.Add(one[0]);
        }
        var lines = Encoding.ASCII.GetString(bytes.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var first = lines[0].Split(' ');
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
        return new SeenRequest(first[0], first[1], headers);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}
