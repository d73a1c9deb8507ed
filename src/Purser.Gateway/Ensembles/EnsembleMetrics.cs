using System.Diagnostics.Metrics;

namespace Purser.Gateway.Ensembles;

/// <summary>
/// Ensemble and routing counters on the "Purser.Gateway" meter, for any OpenTelemetry or dotnet-counters listener:
/// how often the guardrail shrank, degraded, refused or skipped the judge, and how often a route failed over.
/// </summary>
internal static class EnsembleMetrics
{
    private static readonly Meter Meter = Telemetry.GatewayMetrics.Meter;

    private static readonly Counter<long> Requests = Meter.CreateCounter<long>("purser.ensemble.requests", description: "Ensemble requests by outcome (full, panel_shrunk, degraded, judge_skipped, judge_failed, refused).");

    private static readonly Counter<long> Failovers = Meter.CreateCounter<long>("purser.route.failovers", description: "Routing alias requests served by a target other than the first tried.");

    public static void Outcome(string ensemble, string outcome) =>
        Requests.Add(1, new KeyValuePair<string, object?>("ensemble", ensemble), new KeyValuePair<string, object?>("outcome", outcome));

    public static void Failover(string route) =>
        Failovers.Add(1, new KeyValuePair<string, object?>("route", route));
}
