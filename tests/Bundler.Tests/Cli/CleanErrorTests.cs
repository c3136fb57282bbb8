using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using Bundler.Configuration;
using Bundler.Layout;
using Bundler.Packaging;
using Bundler.Tests.Packaging;

namespace Bundler.Tests.Cli;

/// <summary>
/// A user's mistake or a hostile input gets a clean error, never a stack trace (issue 12 item 18): folders that are
/// files or cannot be written, YAML nested absurdly deep, a bundle whose payload unpacks to far more than it weighs.
/// </summary>
public sealed class CleanErrorTests : IDisposable
{
    private readonly BundleFixture _fx = new();

    public CleanErrorTests() => Environment.SetEnvironmentVariable("SOURCE_DATE_EPOCH", BundleFixture.Epoch.ToString(CultureInfo.InvariantCulture));

    public void Dispose() => _fx.Dispose();

    /// <summary>A folder nobody can write, root included: /proc takes no new entries.</summary>
    private const string Unwritable = "/proc/kbundle-cannot-write-here";

    private static void AssertClean(CliRunner.Result result, int exitCode, string expected)
    {
        Assert.True(result.ExitCode == exitCode, result.All);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.All, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.All, StringComparison.Ordinal);
    }

    [ToolFact("cc", "make")]
    public async Task GivenAStateOptionThatIsAFile_WhenBuilding_ThenExit2NamesIt()
    {
        var state = Path.Combine(_fx.Root, "state-file");
        File.WriteAllText(state, "");

        var result = CliRunner.Run([.. await _fx.CommandLineAsync(stateDir: state)]);

        AssertClean(result, 2, $"--state {state}: is a file, not a folder");
        Assert.False(Directory.Exists(_fx.Out()));
    }

    [ToolFact("cc", "make")]
    public async Task GivenAnOutOptionThatIsAFile_WhenBuilding_ThenExit2NamesIt()
    {
        var output = Path.Combine(_fx.Root, "out-file");
        File.WriteAllText(output, "");

        var result = CliRunner.Run([.. await _fx.CommandLineAsync(outDir: output)]);

        AssertClean(result, 2, $"--out {output}: is a file, not a folder");
        Assert.False(Directory.Exists(_fx.State));
    }

    [ToolFact("cc", "make")]
    public async Task GivenACacheInAPlaceNobodyCanWrite_WhenBuilding_ThenExit2NamesIt()
    {
        var line = await _fx.CommandLineAsync();
        line[line.IndexOf("--cache") + 1] = Unwritable;

        var result = CliRunner.Run([.. line]);

        AssertClean(result, 2, $"--cache {Unwritable}: cannot create the folder");
    }

    [Fact]
    public void GivenAFolderNobodyCanWrite_WhenInitWritesASiteThere_ThenExit2NamesIt()
    {
        var result = CliRunner.Run("init", Unwritable);

        AssertClean(result, 2, $"{Unwritable}/site.yaml: cannot write it");
    }

    [Fact]
    public void GivenYamlNested50000Deep_WhenValidated_ThenExit2SaysTooDeepAndTheProcessSurvives()
    {
        var site = Path.Combine(_fx.Root, "deep.yaml");
        File.WriteAllText(site, "name: lab\nkubernetes: 1.36.0\nnodes: " + new string('[', 50_000) + new string(']', 50_000) + "\n");
        var lockFile = Path.Combine(_fx.Root, "deep-lock.yaml");
        File.WriteAllText(lockFile, "kubernetes: 1.36.0\nartifacts: " + new string('{', 1) + string.Concat(Enumerable.Repeat("a: {", 50_000)) + new string('}', 50_001) + "\n");

        // A process of its own: a stack overflow would take the test host down with it.
        var validate = CliRunner.RunProcess(_fx.Root, null, "validate", site);
        var pins = CliRunner.RunProcess(_fx.Root, null, "validate", _fx.SitePath, "--pins", lockFile);

        AssertClean(validate, 2, "deep.yaml:3:");
        Assert.Contains("nested deeper than", validate.Error, StringComparison.Ordinal);
        AssertClean(pins, 2, "nested deeper than");
    }

    [Fact]
    public async Task GivenABundleWhosePayloadUnpacksToAGibibyte_WhenInspected_ThenMemoryStaysBoundedAndItIsListed()
    {
        await _fx.BuildAsync();
        var bomb = Path.Combine(_fx.Root, "bomb.run");
        WriteBomb(bomb, 1L << 30);

        // The process may not hold 1 GiB: a reader that buffers whole entries runs out of memory.
        var result = CliRunner.RunProcess(_fx.Root, new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0xC000000" }, "inspect", bomb);

        Assert.True(result.ExitCode == 0, result.All);
        Assert.Contains("1073741824", result.Out, StringComparison.Ordinal);
        Assert.Contains("/opt/k8s/bin/huge", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.All, StringComparison.Ordinal);
    }

    /// <summary>A bundle with a sound header whose payload holds one entry of <paramref name="size"/> zero bytes.</summary>
    private void WriteBomb(string path, long size)
    {
        var payloadPath = path + ".payload";
        using (var file = File.Create(payloadPath))
        using (var gzip = new GZipStream(file, CompressionLevel.SmallestSize))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Ustar))
            tar.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "opt/k8s/bin/huge") { Mode = NodeFile.Executable, DataStream = new ZeroStream(size) });
        var payloadSha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(payloadPath)));
        var site = _fx.Site;
        var node = site.Node("w1");
        var header = BundleHeader.Render(BundleHeader.LoadTemplate(null), BundleHeader.Metadata(site, node, ComponentTable.UnitsFor(node.Roles), BundleFixture.Epoch),
            new FileInfo(payloadPath).Length, payloadSha);
        using var run = File.Create(path);
        run.Write(header);
        using (var payload = File.OpenRead(payloadPath))
            payload.CopyTo(run);
    }

    /// <summary>Reads as <c>length</c> zero bytes without holding them (seekable, so the tar writer takes its length).</summary>
    private sealed class ZeroStream(long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => _position = value; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            Array.Clear(buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) =>
            _position = origin switch { SeekOrigin.Begin => offset, SeekOrigin.Current => _position + offset, _ => length + offset };
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
