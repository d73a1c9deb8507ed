using System.Diagnostics;
using System.Diagnostics.Metrics;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Gateway.Telemetry;

/// <summary>
/// The gateway's metrics on the one "Purser.Gateway" meter: the OpenTelemetry GenAI client conventions
/// (<c>gen_ai.client.token.usage</c>, <c>gen_ai.client.operation.duration</c>) plus what only a spend gateway knows —
/// cost, budget blocks and degrades, ledger latency. Each is recorded at the single point where the fact is final,
/// with a stack-allocated <see cref="TagList"/>; with no listener attached an instrument records nothing.
/// </summary>
internal static class GatewayMetrics
{
    public const string MeterName = "Purser.Gateway";

    /// <summary>The meter every instrument of the gateway is created on (ensembles and routing too).</summary>
    public static readonly Meter Meter = new(MeterName);

    // Bucket boundaries recommended by the GenAI semantic conventions.
    private static readonly Histogram<long> TokenUsage = Meter.CreateHistogram(
        "gen_ai.client.token.usage",
        unit: "{token}",
        description: "Number of input and output tokens used, per request.",
        tags: null,
        advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864] });

    private static readonly Histogram<double> OperationDuration = Meter.CreateHistogram(
        "gen_ai.client.operation.duration",
        unit: "s",
        description: "Duration of a GenAI operation through the gateway, from request to settlement.",
        tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] });

    private static readonly Counter<double> Cost = Meter.CreateCounter<double>("purser.cost", unit: "USD", description: "Cost charged to budgets, in US dollars.");

    private static readonly Counter<long> Blocks = Meter.CreateCounter<long>("purser.budget.blocks", unit: "{request}", description: "Requests refused by a budget.");

    private static readonly Counter<long> RateLimitRefusals = Meter.CreateCounter<long>("purser.rate_limit.refusals", unit: "{request}", description: "Requests refused with a 429 by a rate limit or a budget's throttle.");

    private static readonly Counter<long> Degrades = Meter.CreateCounter<long>("purser.budget.degrades", unit: "{request}", description: "Requests degraded (lower max_tokens or a cheaper model) to fit a budget.");

    private static readonly Histogram<double> LedgerDuration = Meter.CreateHistogram(
        "purser.ledger.duration",
        unit: "s",
        description: "Duration of a budget ledger reserve or settle.",
        tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] });

    /// <summary>A finished request: its tokens (when the provider or the counter reported them), cost and duration.</summary>
    public static void Finished(in CallSubject call, int status, string? errorCode, TokenUsage usage, UsageSource source, Money cost, TimeSpan elapsed)
    {
        // A span is current only when a tracer listens (GatewayTracing): then the same facts go on the request's spans.
        if (Activity.Current is not null)
        {
            GatewayTracing.Finished(call, status, errorCode, usage, source, cost);
        }

        // Nothing listens unless OpenTelemetry (or a test) enabled the meter: then the tags are not even built.
        if (!TokenUsage.Enabled && !OperationDuration.Enabled && !Cost.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { "gen_ai.operation.name", GatewayTracing.Operation(call) },
            { "gen_ai.provider.name", call.Provider },
            { "gen_ai.request.model", call.ModelAlias },
        };
        if (call.UpstreamModel.Length > 0)
        {
            tags.Add("gen_ai.response.model", call.UpstreamModel);
        }

        if (source != UsageSource.None)
        {
            var input = tags;
            input.Add("gen_ai.token.type", "input");
            TokenUsage.Record(usage.InputTokens, input);
            if (call.Operation != "embeddings")
            {
                var output = tags;
                output.Add("gen_ai.token.type", "output");
                TokenUsage.Record(usage.OutputTokens, output);
            }
        }

        var duration = tags;
        if (status >= 400)
        {
            duration.Add("error.type", errorCode ?? "_OTHER");
        }

        OperationDuration.Record(elapsed.TotalSeconds, duration);
        if (cost.NanoUsd != 0)
        {
            // Money is exact nano-USD everywhere inside; the double exists only here, at the edge.
            Cost.Add(cost.NanoUsd / 1e9, new TagList
            {
                { "gen_ai.request.model", call.ModelAlias },
                { "purser.key_id", call.KeyId },
            });
        }
    }

    public static void Blocked(in CallSubject call, string? scope) =>
        Blocks.Add(1, new TagList
        {
            { "gen_ai.request.model", call.ModelAlias },
            { "purser.key_id", call.KeyId },
            { "purser.budget.scope", scope ?? "unknown" },
        });

    public static void RateLimited(in CallSubject call, string code, string scope) =>
        RateLimitRefusals.Add(1, new TagList
        {
            { "gen_ai.request.model", call.ModelAlias },
            { "purser.key_id", call.KeyId },
            { "purser.rate_limit.scope", scope },
            { "error.type", code },
        });

    public static void Degraded(in CallSubject call, string how) =>
        Degrades.Add(1, new TagList
        {
            { "gen_ai.request.model", call.ModelAlias },
            { "purser.key_id", call.KeyId },
            { "purser.degrade", how.StartsWith("model=", StringComparison.Ordinal) ? "model" : "max_tokens" },
        });

    /// <summary>How long one ledger call took; <paramref name="operation"/> is "reserve" or "settle".</summary>
    public static void Ledger(string operation, TimeSpan elapsed, bool failed) =>
        LedgerDuration.Record(elapsed.TotalSeconds, new TagList
        {
            { "purser.ledger.operation", operation },
            { "purser.ledger.outcome", failed ? "error" : "ok" },
        });
}
