using System.Text;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Hosting;

/// <summary>
/// A new user's first hour, run by a test: every shell block of the README, in order, on a fresh data directory, with
/// the binary installed by the README's own install block (<see cref="PublishedPurser"/>) and the quickstart started by
/// its serve block as a real process. The one change to the text: the quickstart's port 8080 becomes the free port the
/// process got (<c>--urls http://127.0.0.1:0</c>, <c>PURSER_URL</c> and the URLs in the commands), since a test machine
/// may have 8080 taken. Every curl must succeed (<c>--fail-with-body</c>), every command exit 0. Blocks marked
/// <c>smoke: skip</c> say why in the README.
/// </summary>
[Collection(PublishedPurserCollection.Name)]
public sealed class ReadmeSmokeTests : IDisposable
{
    private readonly PublishedPurser _purser;
    private readonly string _workDir = Path.Combine(Path.GetTempPath(), "purser-readme-" + Guid.NewGuid().ToString("N"));

    public ReadmeSmokeTests(PublishedPurser purser)
    {
        _purser = purser;
        Directory.CreateDirectory(_workDir);
    }

    public void Dispose() => FixtureSupport.DeleteQuietly(_workDir);

    [Fact]
    public async Task Every_readme_command_runs_in_order_against_the_quickstart()
    {
        var blocks = Readme.ShellBlocks();
        Assert.Equal("install", blocks[0].Marker);
        var serve = Assert.Single(blocks, b => b.Marker == "serve");
        Assert.All(blocks, b => Assert.Contains(b.Marker, new[] { "", "install", "serve", "skip" }));

        await using var served = await _purser.ServeAsync(serve.Text.Trim() + " --urls http://127.0.0.1:0", _workDir);
        var url = served.Address.AbsoluteUri.TrimEnd('/');

        // After the serve block, everything that is not skipped, as one shell session (exports carry over).
        var script = new StringBuilder("""
            set -euo pipefail
            curl() { command curl -sS --fail-with-body --max-time 30 "$@"; echo; }

            """);
        var run = 0;
        foreach (var block in blocks.SkipWhile(b => b.Marker != "serve").Skip(1).Where(b => b.Marker == ""))
        {
            script.Append($"echo '### README line {block.Line}'\n");
            script.Append(block.Text.Replace("http://127.0.0.1:8080", url, StringComparison.Ordinal));
            run++;
        }

        Assert.True(run >= 5, $"only {run} README blocks to run");
        var (exit, output) = await _purser.RunBashAsync(script.ToString(), _workDir, TimeSpan.FromMinutes(3), new Dictionary<string, string> { ["PURSER_URL"] = url });
        Assert.True(exit == 0, $"a README command failed (exit {exit}):\n{output}\n--- gateway ---\n{served.Output}");

        // What the commands did, as a user would check it.
        Assert.Contains("\"object\":\"chat.completion\"", output, StringComparison.Ordinal);
        Assert.Contains("\"type\":\"message\"", output, StringComparison.Ordinal);
        Assert.Contains("Created key 'ci-bot'", output, StringComparison.Ordinal);
        Assert.Contains("Budget 'ci-daily' on key:ci-bot", output, StringComparison.Ordinal);
        Assert.Contains("Revoked key 'ci-bot'", output, StringComparison.Ordinal);
        Assert.Contains("admin_key_hash: sha256:", output, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"ready\"", output, StringComparison.Ordinal);
        Assert.Equal(0, await served.StopAsync());
    }
}
