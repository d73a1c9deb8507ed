using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Purser.Gateway.Hosting;
using Purser.SimulatedProvider;
using Purser.Usage;

namespace Purser.Gateway.Tests.Telemetry;

/// <summary>
/// What an operator's Prometheus and trace collector see: <c>GET /metrics</c> scraped after real requests carries the
/// token, cost and budget series with the exact values of the usage records and the ledger; the in-memory span
/// exporter sees one request's spans with the GenAI attributes, continuing the caller's traceparent, and the simulated
/// provider receives the upstream span's traceparent.
/// </summary>
public sealed partial class ObservabilityTests : IAsyncLifetime
{
    private const string Secret = "sk-purser-observability-test-key";
    private readonly string _workDir = Path.Combine(Path.GetTempPath(), "purser-observability-" + Guid.NewGuid().ToString("N"));
    private readonly string _model = "obs-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _keyId = "obs-key-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _budgetId = "obs-daily-" + Guid.NewGuid().ToString("N")[..8];
    private SimulatedProviderServer _simulator = null!;

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
    public async Task Metrics_scraped_after_requests_carry_the_exact_tokens_cost_and_budget_state()
    {
        var config = Path.Combine(_workDir, "purser.yaml");
        await File.WriteAllTextAsync(config, Config("""
            telemetry:
              prometheus: true
            """));
        var gateway = await GatewayHost.StartAsync(new GatewayHostOptions { ConfigPath = config, Urls = "http://127.0.0.1:0", MinimumLogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
        await using (gateway)
        {
            using var http = new HttpClient { BaseAddress = gateway.BaseAddress };
            for (var i = 0; i < 3; i++)
            {
                using var response = await ChatAsync(http, null);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            await gateway.FlushUsageAsync();
            var records = await gateway.Usage.QueryAsync(new UsageQuery { KeyId = _keyId }, CancellationToken.None);
            Assert.Equal(3, records.Count);
            var input = records.Sum(r => r.Tokens.InputTokens);
            var cost = records.Sum(r => r.Cost.NanoUsd);
            Assert.True(cost > 0);

            using var scrape = await http.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
            Assert.StartsWith("text/plain", scrape.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
            var text = await scrape.Content.ReadAsStringAsync();

            // Prometheus names: dots become underscores, the unit is a suffix, counters end in _total.
            var model = $"gen_ai_request_model=\"{_model}\"";
            Assert.Equal(input, Sample(text, "gen_ai_client_token_usage_sum", model, "gen_ai_token_type=\"input\""));
            Assert.Equal(3 * 7, Sample(text, "gen_ai_client_token_usage_sum", model, "gen_ai_token_type=\"output\""));
            Assert.Equal(3, Sample(text, "gen_ai_client_token_usage_count", model, "gen_ai_token_type=\"output\""));
            Assert.Equal(cost / 1e9, Sample(text, "purser_cost_USD_total", $"purser_key_id=\"{_keyId}\""), 9);
            Assert.Equal(3, Sample(text, "gen_ai_client_operation_duration_seconds_count", model));

            // The budget's current window, as the ledger has it: every hold settled, so held is 0 and spent is the records' sum.
            var budget = $"purser_budget_id=\"{_budgetId}\"";
            Assert.Equal(cost / 1e9, Sample(text, "purser_budget_spent_USD", budget, $"purser_budget_scope=\"key:{_keyId}\"", "purser_budget_window=\"daily\""), 9);
            Assert.Equal(0, Sample(text, "purser_budget_held_USD", budget));
            Assert.Equal(5 - (cost / 1e9), Sample(text, "purser_budget_remaining_USD", budget), 9);
        }
    }

    [Fact]
    public async Task Budget_gauges_stop_at_their_cardinality_bound()
    {
        var prefix = "card-" + Guid.NewGuid().ToString("N")[..6] + "-";
        var budgets = new StringBuilder("budgets:\n");
        for (var i = 0; i < Purser.Gateway.AdminServices.BudgetGauges.MaxBudgets + 5; i++)
        {
            budgets.Append(CultureInfo.InvariantCulture, $"  - {{ id: {prefix}{i:D4}, scope: \"key:{_keyId}\", window: monthly, cap_usd: 1 }}\n");
        }

        var config = Path.Combine(_workDir, "purser.yaml");
        await File.WriteAllTextAsync(config, Config("telemetry:\n  prometheus: true\n").Replace("budgets:\n", budgets.ToString(), StringComparison.Ordinal));
        var gateway = await GatewayHost.StartAsync(new GatewayHostOptions { ConfigPath = config, Urls = "http://127.0.0.1:0", MinimumLogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
        await using (gateway)
        {
            using var http = new HttpClient { BaseAddress = gateway.BaseAddress };
            var text = await http.GetStringAsync("/metrics");
            foreach (var gauge in new[] { "purser_budget_spent_USD{", "purser_budget_held_USD{", "purser_budget_remaining_USD{" })
            {
                var series = text.Split('\n').Count(l => l.StartsWith(gauge, StringComparison.Ordinal) && l.Contains("purser_budget_id=\"" + prefix, StringComparison.Ordinal));
                Assert.Equal(Purser.Gateway.AdminServices.BudgetGauges.MaxBudgets, series);
            }

            // The file's first budgets are the ones reported; the last ones past the bound are not.
            Assert.Contains($"purser_budget_id=\"{prefix}0000\"", text, StringComparison.Ordinal);
            Assert.DoesNotContain($"purser_budget_id=\"{prefix}{Purser.Gateway.AdminServices.BudgetGauges.MaxBudgets:D4}\"", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Without_configuration_there_is_no_metrics_endpoint_and_no_span_on_the_request_path()
    {
        var config = Path.Combine(_workDir, "purser.yaml");
        await File.WriteAllTextAsync(config, Config(""));
        var gateway = await GatewayHost.StartAsync(new GatewayHostOptions { ConfigPath = config, Urls = "http://127.0.0.1:0", MinimumLogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
        await using (gateway)
        {
            using var http = new HttpClient { BaseAddress = gateway.BaseAddress };
            using var scrape = await http.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.NotFound, scrape.StatusCode);
            using var json = JsonDocument.Parse(await scrape.Content.ReadAsStringAsync());
            Assert.Equal("unknown_route", json.RootElement.GetProperty("error").GetProperty("code").GetString());

            // No tracer: no span is current on the request path, so HttpClient stamps no traceparent on the upstream call.
            using (var response = await ChatAsync(http, null))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            Assert.Empty(_simulator.ReceivedTraceparents);
        }
    }

    [Fact]
    public async Task An_otlp_endpoint_for_metrics_alone_starts_no_span_on_the_request_path()
    {
        // Port 9 (discard) has no collector: metrics are exported to nowhere, and traces were not asked for.
        var config = Path.Combine(_workDir, "purser.yaml");
        await File.WriteAllTextAsync(config, Config("telemetry:\n  otlp_endpoint: http://127.0.0.1:9\n"));
        var gateway = await GatewayHost.StartAsync(new GatewayHostOptions { ConfigPath = config, Urls = "http://127.0.0.1:0", MinimumLogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
        await using (gateway)
        {
            using var http = new HttpClient { BaseAddress = gateway.BaseAddress };
            using (var response = await ChatAsync(http, $"00-{ActivityTraceId.CreateRandom().ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01"))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            Assert.Null(gateway.Services.GetService<TracerProvider>());
            Assert.Empty(_simulator.ReceivedTraceparents);
        }
    }

    [Fact]
    public async Task One_requests_spans_carry_the_GenAI_attributes_and_continue_the_callers_trace_upstream()
    {
        var spans = new List<Activity>();
        var config = Path.Combine(_workDir, "purser.yaml");
        await File.WriteAllTextAsync(config, Config(""));
        var gateway = await GatewayHost.StartAsync(new GatewayHostOptions
        {
            ConfigPath = config,
            Urls = "http://127.0.0.1:0",
            MinimumLogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
            ConfigureTracing = tracing => tracing.AddInMemoryExporter(spans),
        });
        await using (gateway)
        {
            var traceId = ActivityTraceId.CreateRandom();
            var callerSpan = ActivitySpanId.CreateRandom();
            var traceparent = $"00-{traceId.ToHexString()}-{callerSpan.ToHexString()}-01";

            // The request span ends when the middleware returns, which may be after the client has the response: wait for it.
            var serverEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == Purser.Gateway.Telemetry.GatewayTracing.SourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.None,
                ActivityStopped = activity =>
                {
                    if (activity.Kind == ActivityKind.Server && activity.TraceId == traceId)
                    {
                        serverEnded.TrySetResult();
                    }
                },
            };
            ActivitySource.AddActivityListener(listener);
            using var http = new HttpClient { BaseAddress = gateway.BaseAddress };
            using (var response = await ChatAsync(http, traceparent))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            await serverEnded.Task.WaitAsync(TimeSpan.FromSeconds(30), TimeProvider.System);

            await gateway.FlushUsageAsync();
            var record = Assert.Single(await gateway.Usage.QueryAsync(new UsageQuery { KeyId = _keyId }, CancellationToken.None));
            Assert.True(gateway.Services.GetRequiredService<TracerProvider>().ForceFlush(10_000));

            // Spans of other gateways in this process share the source: this request's are the ones of its trace.
            List<Activity> mine;
            lock (spans)
            {
                mine = spans.Where(s => s.TraceId == traceId).ToList();
            }

            var server = Assert.Single(mine, s => s.Kind == ActivityKind.Server);
            Assert.Equal(callerSpan, server.ParentSpanId);
            Assert.Equal("POST /v1/chat/completions", server.DisplayName);
            Assert.Equal(record.RequestId, server.GetTagItem("purser.request_id"));

            var upstream = Assert.Single(mine, s => s.Kind == ActivityKind.Client && s.Source.Name == "Purser.Gateway");
            Assert.Equal(server.SpanId, upstream.ParentSpanId);
            Assert.Equal("chat sim-chat~out=7", upstream.DisplayName);
            Assert.Equal("chat", upstream.GetTagItem("gen_ai.operation.name"));
            Assert.Equal(_model, upstream.GetTagItem("gen_ai.request.model"));
            Assert.Equal(record.Tokens.InputTokens, upstream.GetTagItem("gen_ai.usage.input_tokens"));
            Assert.Equal(7L, upstream.GetTagItem("gen_ai.usage.output_tokens"));
            Assert.Equal(record.Cost.NanoUsd, upstream.GetTagItem("purser.cost_nano_usd"));
            Assert.Equal(record.Cost.NanoUsd, server.GetTagItem("purser.cost_nano_usd"));

            var admission = Assert.Single(mine, s => s.DisplayName == "purser.admission");
            Assert.Equal(server.SpanId, admission.ParentSpanId);
            var reserve = Assert.Single(mine, s => s.DisplayName == "purser.ledger.reserve");
            Assert.Equal(admission.SpanId, reserve.ParentSpanId);
            Assert.Single(mine, s => s.DisplayName == "purser.ledger.settle");

            // The provider received the caller's trace, with HttpClient's span under the gateway's upstream span as parent.
            var httpSpan = Assert.Single(mine, s => s.Source.Name == "System.Net.Http");
            Assert.Equal(upstream.SpanId, httpSpan.ParentSpanId);
            Assert.Contains($"00-{traceId.ToHexString()}-{httpSpan.SpanId.ToHexString()}-01", _simulator.ReceivedTraceparents);
        }
    }

    private async Task<HttpResponseMessage> ChatAsync(HttpClient http, string? traceparent)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"{{_model}}","messages":[{"role":"user","content":"Hello there"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Secret);
        if (traceparent is not null)
        {
            request.Headers.TryAddWithoutValidation("traceparent", traceparent);
        }

        return await http.SendAsync(request);
    }

    /// <summary>The value of the one sample named <paramref name="name"/> whose labels include every one of <paramref name="labels"/>.</summary>
    private static double Sample(string exposition, string name, params string[] labels)
    {
        var matches = exposition.Split('\n')
            .Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) && labels.All(label => l.Contains(label, StringComparison.Ordinal)))
            .ToList();
        Assert.True(matches.Count == 1, $"expected one {name} sample with {string.Join(',', labels)}, found {matches.Count} in:\n{exposition}");
        var value = SampleValue().Match(matches[0]);
        Assert.True(value.Success, matches[0]);
        return double.Parse(value.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"\}\s+(\S+)(\s+\d+)?$")]
    private static partial Regex SampleValue();

    private string Config(string extra) => $$"""
        server:
          listen: http://127.0.0.1:0
        storage:
          sqlite_path: {{Path.Combine(_workDir, "purser.db")}}
        providers:
          sim-openai:
            kind: openai
            base_url: {{_simulator.BaseAddress.AbsoluteUri.TrimEnd('/')}}/v1
            api_key: none
        models:
          {{_model}}: { provider: sim-openai, upstream: "sim-chat~out=7", price: { input: 0.5, output: 1.5 } }
        keys:
          - { id: {{_keyId}}, secret: {{Secret}} }
        budgets:
          - { id: {{_budgetId}}, scope: "key:{{_keyId}}", window: daily, cap_usd: 5 }
        {{extra}}
        """;
}
