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

    /// <summary>
    /// Export traces over OTLP (with <see cref="OtlpEndpoint"/> or OTEL_EXPORTER_OTLP_ENDPOINT). Off by default: spans
    /// cost CPU on every request, and an operator who configured OTLP for metrics did not ask for that.
    /// </summary>
    public bool Traces { get; init; }

    /// <summary>The share of new traces recorded (0 &lt; ratio ≤ 1, default 1); a caller's sampled flag is followed.</summary>
    public double TraceSampleRatio { get; init; } = 1;
}
