using System.Diagnostics;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Gateway.Telemetry;

/// <summary>
/// The gateway's spans on the one "Purser.Gateway" activity source: the request (server), admission, each ledger call
/// and each upstream call (client, GenAI semantic conventions plus the cost). <see cref="ActivitySource.StartActivity(string, ActivityKind)"/>
/// returns null unless a tracer provider listens to the source, so with no OTLP endpoint (or test exporter) every helper
/// here is a listener check and nothing else: no Activity, no tags, no traceparent parsing. With a tracer, a request
/// its sampler drops (<c>telemetry.trace_sample_ratio</c>) gets propagation-only Activities and no tags.
/// </summary>
internal static class GatewayTracing
{
    public const string SourceName = "Purser.Gateway";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>The admission span: path budgets, bedtime and the ledger reserve under it.</summary>
    public static Activity? StartAdmission() => Source.StartActivity("purser.admission", ActivityKind.Internal);

    /// <summary>What admission decided: the worst case held, a degrade, or the refusal's code.</summary>
    public static void Admitted(Activity span, Money? held, string? degraded, string? refusalCode)
    {
        if (!span.IsAllDataRequested)
        {
            return;
        }

        if (held is { } amount)
        {
            span.SetTag("purser.hold_nano_usd", amount.NanoUsd);
        }

        if (degraded is not null)
        {
            span.SetTag("purser.degraded", degraded);
        }

        if (refusalCode is not null)
        {
            span.SetTag("error.type", refusalCode);
            span.SetStatus(ActivityStatusCode.Error, refusalCode);
        }
    }

    /// <summary>A ledger call ("reserve" or "settle"); the database spans (Npgsql's) nest under it.</summary>
    public static Activity? StartLedger(string operation)
    {
        var activity = Source.StartActivity("purser.ledger." + operation, ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("purser.ledger.operation", operation);
        }

        return activity;
    }

    /// <summary>
    /// One upstream call, named "{operation} {model}" as the GenAI conventions ask. While it is current, the upstream
    /// HttpClient request carries its id in <c>traceparent</c> (HttpClient injects the current Activity's context).
    /// </summary>
    public static Activity? StartUpstream(in CallSubject call)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var operation = Operation(call);
        var activity = Source.StartActivity(operation + " " + call.UpstreamModel, ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("gen_ai.operation.name", operation);
            activity.SetTag("gen_ai.provider.name", call.Provider);
            activity.SetTag("gen_ai.request.model", call.ModelAlias);
            activity.SetTag("purser.upstream_model", call.UpstreamModel);
        }

        return activity;
    }

    /// <summary>
    /// The request's outcome, on the span current when it settled (the upstream call's, when there was one) and on the
    /// request span above it: tokens, cost in USD and exact nano-USD, status.
    /// </summary>
    public static void Finished(in CallSubject call, int status, string? errorCode, TokenUsage usage, UsageSource source, Money cost)
    {
        for (var activity = Activity.Current; activity is not null; activity = activity.Parent)
        {
            // Not ours, or not sampled (a propagation-only Activity): nothing is recorded, so nothing is written.
            if (!ReferenceEquals(activity.Source, Source) || !activity.IsAllDataRequested)
            {
                break;
            }

            activity.SetTag("gen_ai.operation.name", Operation(call));
            activity.SetTag("gen_ai.request.model", call.ModelAlias);
            if (call.UpstreamModel.Length > 0)
            {
                activity.SetTag("gen_ai.response.model", call.UpstreamModel);
            }

            if (source != UsageSource.None)
            {
                activity.SetTag("gen_ai.usage.input_tokens", usage.InputTokens);
                activity.SetTag("gen_ai.usage.output_tokens", usage.OutputTokens);
            }

            activity.SetTag("purser.cost_usd", cost.NanoUsd / 1e9);
            activity.SetTag("purser.cost_nano_usd", cost.NanoUsd);
            activity.SetTag("purser.key_id", call.KeyId);
            activity.SetTag("http.response.status_code", status);
            if (status >= 400)
            {
                activity.SetTag("error.type", errorCode ?? "_OTHER");
                activity.SetStatus(ActivityStatusCode.Error, errorCode);
            }

            if (activity.Kind == ActivityKind.Server)
            {
                break;
            }
        }
    }

    /// <summary>The GenAI operation name: chat for both chat formats; embeddings and count_tokens as themselves.</summary>
    internal static string Operation(in CallSubject call) => call.Operation is "embeddings" or "count_tokens" ? call.Operation : "chat";
}
