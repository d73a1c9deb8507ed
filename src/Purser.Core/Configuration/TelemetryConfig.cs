namespace Purser.Configuration;

/// <summary>Where metrics and traces go and how logs look (the <c>telemetry:</c> section).</summary>
public sealed record TelemetryConfig
{
    /// <summary>The OTLP collector for metrics and traces; null leaves it to OTEL_EXPORTER_OTLP_ENDPOINT, or exports nothing.</summary>
    public string? OtlpEndpoint { get; init; }

    /// <summary>Console logs as one JSON object per line instead of single-line text.</summary>
    public bool JsonLogs { get; init; }

    /// <summary>Serve <c>GET /metrics</c> in the Prometheus text format (off by default: it exposes key ids and budget names).</summary>
    public bool Prometheus { get; init; }
}
