namespace Purser.Configuration;

/// <summary>Where metrics go and how logs look (the <c>telemetry:</c> section).</summary>
public sealed record TelemetryConfig
{
    /// <summary>The OTLP collector for metrics; null leaves it to OTEL_EXPORTER_OTLP_ENDPOINT, or exports nothing.</summary>
    public string? OtlpEndpoint { get; init; }

    /// <summary>Console logs as one JSON object per line instead of single-line text.</summary>
    public bool JsonLogs { get; init; }
}
