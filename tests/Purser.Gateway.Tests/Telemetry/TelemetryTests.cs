using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using Purser.Gateway.Hosting;
using Purser.Gateway.Tests.Infrastructure;
using Purser.SimulatedProvider;
using Purser.Usage;

namespace Purser.Gateway.Tests.Telemetry;

/// <summary>
/// The gateway's OpenTelemetry metrics read back through an in-memory exporter, and its JSON logs read from a real
/// process: token usage and cost of a request with its exact values; request ids in the log scope; no secrets.
/// </summary>
public sealed class TelemetryTests : IAsyncLifetime
{
    private const string Secret = "sk-purser-telemetry-test-key";
    private const string Prompt = "the-secret-prompt-purple-walrus";
    private readonly string _workDir = Path.Combine(Path.GetTempPath(), "purser-telemetry-" + Guid.NewGuid().ToString("N"));
    private SimulatedProviderServer _simulator = null!;

    // Unique per test class instance: the meter is process-wide, so points from other tests are told apart by these.
    private readonly string _model = "tele-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _keyId = "tele-key-" + Guid.NewGuid().ToString("N")[..8];

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_workDir);
        _simulator = await SimulatedProviderServer.StartAsync("http://127.0.0.1:0");
    }

    public async Task DisposeAsync()
    {
        await _simulator.DisposeAsync();
        try
        {
            Directory.Delete(_workDir, recursive: true);
        }
        catch (IOException)
        {
            // Left in the temp directory: harmless.
        }
    }

    [Fact]
    public async Task Exported_metrics_carry_a_requests_input_and_output_tokens_and_its_exact_cost()
    {
        var exported = new List<MetricSnapshot>();
        var config = Path.Combine(_workDir, "purser.yaml");
        await File.WriteAllTextAsync(config, Config(string.Empty));
        var gateway = await GatewayHost.StartAsync(new GatewayHostOptions
        {
            ConfigPath = config,
            Urls = "http://127.0.0.1:0",
            MinimumLogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
            ConfigureMetrics = metrics => metrics.AddInMemoryExporter(exported),
        });
        await using (gateway)
        {
            var (status, _, _) = await ChatAsync(gateway.BaseAddress, _model);
            Assert.Equal(200, status);
            await gateway.FlushUsageAsync();
            var record = Assert.Single(await gateway.Usage.QueryAsync(new UsageQuery { KeyId = _keyId }, CancellationToken.None));
            Assert.True(record.Tokens.InputTokens > 0 && record.Tokens.OutputTokens == 7);

            Assert.True(gateway.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000));

            // The meter is process-wide, so other gateways in this test run record into it too: look at this test's model.
            var tokens = Points(exported, "gen_ai.client.token.usage").Where(p => Tag(p, "gen_ai.request.model") == _model).ToList();
            var input = Assert.Single(tokens, p => Tag(p, "gen_ai.token.type") == "input");
            var output = Assert.Single(tokens, p => Tag(p, "gen_ai.token.type") == "output");
            Assert.Equal(record.Tokens.InputTokens, (long)input.GetHistogramSum());
            Assert.Equal(1, input.GetHistogramCount());
            Assert.Equal(7, (long)output.GetHistogramSum());
            Assert.Equal("chat", Tag(input, "gen_ai.operation.name"));
            Assert.Equal("sim-openai", Tag(input, "gen_ai.provider.name"));
            Assert.Equal("sim-chat~out=7", Tag(input, "gen_ai.response.model"));
            Assert.Equal("{token}", exported.Last(m => m.Name == "gen_ai.client.token.usage").Unit);

            var cost = Assert.Single(Points(exported, "purser.cost"), p => Tag(p, "purser.key_id") == _keyId);
            Assert.Equal(_keyId, Tag(cost, "purser.key_id"));
            Assert.Equal((double)record.Cost.ToUsd(), cost.GetSumDouble(), 12);
            Assert.True(record.Cost.NanoUsd > 0);

            var duration = Assert.Single(Points(exported, "gen_ai.client.operation.duration"), p => Tag(p, "gen_ai.request.model") == _model);
            Assert.Equal(1, duration.GetHistogramCount());
            Assert.Equal("s", exported.Last(m => m.Name == "gen_ai.client.operation.duration").Unit);

            // The request was held and settled in the ledger: both timed.
            var ledger = exported.Where(m => m.Name == "purser.ledger.duration").SelectMany(m => m.MetricPoints).ToList();
            Assert.Contains(ledger, p => Tag(p, "purser.ledger.operation") == "reserve");
            Assert.Contains(ledger, p => Tag(p, "purser.ledger.operation") == "settle");
        }
    }

    [Fact]
    public async Task Json_logs_are_one_object_per_line_with_the_request_id_and_never_the_prompt_or_a_key()
    {
        var config = Path.Combine(_workDir, "purser.yaml");
        await File.WriteAllTextAsync(config, Config("""
            telemetry:
              log_format: json
            """));
        using var process = Process.Start(PurserProcess.StartInfo(_workDir, ["serve", "--config", config, "--urls", "http://127.0.0.1:0"],
            new Dictionary<string, string> { ["SIM_KEY"] = "provider-secret-never-logged" }))!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60), TimeProvider.System);
        var lines = new List<string>();
        try
        {
            string? url = null;
            while (url is null && await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                lines.Add(line);
                if (line.Contains("Purser listening on", StringComparison.Ordinal))
                {
                    using var json = JsonDocument.Parse(line);
                    url = json.RootElement.GetProperty("State").GetProperty("Url").GetString();
                }
            }

            Assert.True(url is not null, string.Join('\n', lines));
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);

            // A failing upstream makes the gateway log inside the request; a good one exercises the whole path too.
            var (failed, _, failedId) = await ChatAsync(new Uri(url!), "tele-failing");
            Assert.Equal(500, failed);
            var (ok, body, _) = await ChatAsync(new Uri(url!), _model);
            Assert.Equal(200, ok);
            Assert.DoesNotContain(Prompt, body, StringComparison.Ordinal);

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(timeout.Token);
            }

            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                lines.Add(line);
            }

            await process.WaitForExitAsync(timeout.Token);
            Assert.Equal(0, process.ExitCode);
            var all = string.Join('\n', lines) + await stderr;
            foreach (var line in lines.Where(l => l.Length > 0))
            {
                using var entry = JsonDocument.Parse(line);
                Assert.True(entry.RootElement.TryGetProperty("Timestamp", out _), line);
            }

            var upstreamFailure = Assert.Single(lines, l => l.Contains("\"request_id\":\"" + failedId + "\"", StringComparison.Ordinal) && l.Contains("failed", StringComparison.Ordinal));
            Assert.Contains("\"LogLevel\":\"Warning\"", upstreamFailure, StringComparison.Ordinal);
            Assert.DoesNotContain(Prompt, all, StringComparison.Ordinal);
            Assert.DoesNotContain(Secret, all, StringComparison.Ordinal);
            Assert.DoesNotContain("provider-secret-never-logged", all, StringComparison.Ordinal);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private static List<MetricPoint> Points(List<MetricSnapshot> exported, string name) =>
        exported.LastOrDefault(m => m.Name == name)?.MetricPoints.ToList() ?? [];

    private static string? Tag(MetricPoint point, string name)
    {
        foreach (var tag in point.Tags)
        {
            if (tag.Key == name)
            {
                return tag.Value?.ToString();
            }
        }

        return null;
    }

    private string Config(string extra) => $$"""
        server:
          listen: http://127.0.0.1:0
        storage:
          sqlite_path: purser.db
        providers:
          sim-openai:
            kind: openai
            base_url: {{_simulator.BaseAddress.AbsoluteUri.TrimEnd('/')}}/v1
            api_key: ${SIM_KEY:-none}
        models:
          {{_model}}: { provider: sim-openai, upstream: "sim-chat~out=7", price: { input: 0.5, output: 1.5 } }
          tele-failing: { provider: sim-openai, upstream: "sim-chat~fail=500", price: { input: 0.5, output: 1.5 } }
        keys:
          - { id: {{_keyId}}, secret: {{Secret}} }
        budgets:
          - { id: tele-daily, scope: "key:{{_keyId}}", window: daily, cap_usd: 5 }
        {{extra}}
        """;

    private static async Task<(int Status, string Body, string RequestId)> ChatAsync(Uri baseAddress, string model)
    {
        using var http = new HttpClient { BaseAddress = baseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{Prompt}}"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Secret);
        using var response = await http.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers.GetValues("x-request-id").Single());
    }
}
