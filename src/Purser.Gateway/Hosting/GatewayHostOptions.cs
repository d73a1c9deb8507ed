namespace Purser.Gateway.Hosting;

/// <summary>How to start a gateway: from a config file, or (no file) the offline quickstart.</summary>
public sealed record GatewayHostOptions
{
    /// <summary>The YAML configuration; null starts the quickstart with the bundled simulated provider.</summary>
    public string? ConfigPath { get; init; }

    /// <summary>Overrides server.listen (e.g. "http://127.0.0.1:0" for an ephemeral port).</summary>
    public string? Urls { get; init; }

    /// <summary>Where the quickstart keeps its SQLite file and demo key.</summary>
    public string DataDirectory { get; init; } = "data";

    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    public LogLevel MinimumLogLevel { get; init; } = LogLevel.Information;

    /// <summary>Adds readers or exporters to the gateway's OpenTelemetry metrics (tests: an in-memory exporter).</summary>
    public Action<OpenTelemetry.Metrics.MeterProviderBuilder>? ConfigureMetrics { get; init; }

    /// <summary>Adds exporters to the gateway's OpenTelemetry traces (tests: an in-memory exporter); traces are on when set.</summary>
    public Action<OpenTelemetry.Trace.TracerProviderBuilder>? ConfigureTracing { get; init; }
}
