using System.Net;
using System.Text.Json;
using Purser.Gateway.Hosting;

namespace Purser.Gateway.Tests.MultiInstance;

/// <summary>
/// <c>/readyz</c> follows the shared ledger: on a private PostgreSQL cluster that the test stops and starts, a
/// fail-closed gateway goes 503 with the reason while the server is down and 200 once it is back (no restart), and a
/// gateway with a fail-open allowance stays ready, saying it is serving on the allowance. <c>/healthz</c> stays 200.
/// </summary>
[Collection(PrivateClusterCollection.Name)]
public sealed class ReadinessTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "purser-readyz-" + Guid.NewGuid().ToString("N"));
    private TestPostgres _postgres = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _postgres = await TestPostgres.CreatePrivateClusterAsync();
    }

    public async Task DisposeAsync()
    {
        await _postgres.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left in the temp directory: harmless.
        }
    }

    [Fact]
    public async Task Readyz_is_503_with_the_reason_while_PostgreSQL_is_stopped_and_200_when_it_is_back()
    {
        var closed = await StartAsync("closed", failOpen: false);
        var open = await StartAsync("open", failOpen: true);
        await using (closed)
        await using (open)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            Assert.Equal((HttpStatusCode.OK, "ok"), await ReadyAsync(http, closed));
            Assert.Equal((HttpStatusCode.OK, "ok"), await ReadyAsync(http, open));

            await _postgres.StopServerAsync();
            var (status, ledger, reason) = await ReadyWithReasonAsync(http, closed);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.Equal("unreachable", ledger);
            Assert.Contains("budget ledger is unreachable", reason, StringComparison.Ordinal);
            using (var live = await http.GetAsync(new Uri(closed.BaseAddress, "/healthz")))
            {
                Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            }

            var (openStatus, openLedger) = await ReadyAsync(http, open);
            Assert.Equal(HttpStatusCode.OK, openStatus);
            Assert.StartsWith("unreachable; fail_open engaged (5 USD of 5 left)", openLedger, StringComparison.Ordinal);

            // Back: ready again with no restart. Pooled connections broken by the restart may fail one probe each, so
            // the probe is repeated (a bounded number of real requests) until it passes.
            await _postgres.StartServerAsync();
            var ready = (HttpStatusCode)0;
            for (var attempt = 0; attempt < 50 && ready != HttpStatusCode.OK; attempt++)
            {
                (ready, _) = await ReadyAsync(http, closed);
            }

            Assert.Equal(HttpStatusCode.OK, ready);
        }
    }

    private static async Task<(HttpStatusCode Status, string? Ledger)> ReadyAsync(HttpClient http, GatewayHost gateway)
    {
        var (status, ledger, _) = await ReadyWithReasonAsync(http, gateway);
        return (status, ledger);
    }

    private static async Task<(HttpStatusCode Status, string? Ledger, string? Reason)> ReadyWithReasonAsync(HttpClient http, GatewayHost gateway)
    {
        using var response = await http.GetAsync(new Uri(gateway.BaseAddress, "/readyz"));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var reason = json.RootElement.TryGetProperty("reason", out var r) ? r.GetString() : null;
        return (response.StatusCode, json.RootElement.GetProperty("checks").GetProperty("ledger").GetString(), reason);
    }

    private async Task<GatewayHost> StartAsync(string name, bool failOpen)
    {
        var path = Path.Combine(_directory, name + ".yaml");
        await File.WriteAllTextAsync(path, $"""
            server:
              listen: http://127.0.0.1:0
            storage:
              sqlite_path: {Path.Combine(_directory, name + ".db")}
              postgres: "{_postgres.ConnectionString}"
            {(failOpen ? "  fail_open: { local_cap_usd: 5 }" : "")}
            providers:
              sim: {"{"} kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: sim {"}"}
            models:
              sim-chat: {"{"} provider: sim, price: {"{"} input: 0.5, output: 1.5 {"}"} {"}"}
            """);
        return await GatewayHost.StartAsync(new GatewayHostOptions { ConfigPath = path, Urls = "http://127.0.0.1:0", MinimumLogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
    }
}
