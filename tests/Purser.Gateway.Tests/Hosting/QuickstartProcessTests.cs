using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Purser.Store.Sqlite;
using Purser.Usage;

namespace Purser.Gateway.Tests.Hosting;

/// <summary>
/// The README's run command, as a real process: with no configuration it starts the simulated provider, prints a
/// demo key and serves requests offline; SIGTERM shuts it down cleanly with every usage record on disk.
/// </summary>
public sealed partial class QuickstartProcessTests : IDisposable
{
    private readonly string _workDir = Path.Combine(Path.GetTempPath(), "purser-quickstart-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Run_command_without_configuration_serves_the_demo_models_with_the_printed_key()
    {
        Directory.CreateDirectory(_workDir);
        var dll = Path.Combine(AppContext.BaseDirectory, "purser.dll");
        var start = new ProcessStartInfo("dotnet", ["exec", "--runtimeconfig", Path.Combine(AppContext.BaseDirectory, "purser.runtimeconfig.json"), dll, "serve", "--urls", "http://127.0.0.1:0"])
        {
            WorkingDirectory = _workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        string? key = null;
        string? url = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60), TimeProvider.System);
        try
        {
            while ((key is null || url is null) && await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                output.AppendLine(line);
                key ??= DemoKey().Match(line) is { Success: true } k ? k.Groups[1].Value : null;
                url ??= Listening().Match(line) is { Success: true } u ? u.Groups[1].Value : null;
            }

            Assert.True(key is not null && url is not null, "no demo key or address printed:\n" + output);

            using var http = new HttpClient { BaseAddress = new Uri(url!) };
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = new StringContent("""{"model":"sim-chat","messages":[{"role":"user","content":"Hello"}]}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, body);
            using var json = JsonDocument.Parse(body);
            Assert.Equal("chat.completion", json.RootElement.GetProperty("object").GetString());

            // The demo key has a $5 daily budget: every response says where it stands.
            Assert.Equal("5", response.Headers.GetValues("x-budget-limit").Single());
            Assert.Equal("key:demo", response.Headers.GetValues("x-budget-scope").Single());
            var requestId = response.Headers.GetValues("x-request-id").Single();

            // SIGTERM: the host stops serving and drains the usage records before exiting.
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(timeout.Token);
            }

            await process.WaitForExitAsync(timeout.Token);
            Assert.Equal(0, process.ExitCode);
            // A clean shutdown drained the batching writer: the request's usage record is on disk.
            var database = SqliteDatabase.Open(Path.Combine(_workDir, "data", "purser.db"));
            await using (var store = new SqliteUsageStore(database, new SqliteStoreOptions { Path = database.Path }, TimeProvider.System))
            {
                var records = await store.QueryAsync(new UsageQuery(), CancellationToken.None);
                var record = Assert.Single(records);
                Assert.Equal(requestId, record.RequestId);
                Assert.True(record.Cost.NanoUsd > 0);
            }

            Assert.Equal(key, File.ReadAllText(Path.Combine(_workDir, "data", "demo-key.txt")).Trim());
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_workDir, recursive: true);
        }
        catch (IOException)
        {
            // Left behind in the temp directory: harmless.
        }
    }

    [GeneratedRegex(@"Demo key: +(\S+)")]
    private static partial Regex DemoKey();

    [GeneratedRegex(@"Purser listening on (http://\S+)")]
    private static partial Regex Listening();
}
