using System.Runtime.CompilerServices;
using OpenTelemetry.Exporter;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Purser.Configuration;
using Purser.Gateway.AdminServices;
using Purser.Gateway.Telemetry;

namespace Purser.Gateway.Hosting;

/// <summary>
/// Console logs (single-line text, or one JSON object per line) and the OpenTelemetry meter and tracer providers, which
/// exist only when something will read them: an OTLP endpoint (the <c>telemetry.otlp_endpoint</c> setting or the
/// standard OTEL_EXPORTER_OTLP_ENDPOINT variable), <c>telemetry.prometheus</c> (metrics), or a test's exporter.
/// </summary>
internal static class TelemetrySetup
{
    public const string LogFormatVariable = "PURSER_LOG_FORMAT";
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string TracesExporterVariable = "OTEL_TRACES_EXPORTER";

    public static bool JsonLogs(TelemetryConfig telemetry, GatewayHostOptions options) =>
        telemetry.JsonLogs || string.Equals(options.Environment(LogFormatVariable), "json", StringComparison.OrdinalIgnoreCase);

    public static void ConfigureLogging(ILoggingBuilder logging, bool json)
    {
        logging.ClearProviders();
        if (json)
        {
            logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false };
            });
        }
        else
        {
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss ";
            });
        }
    }

    /// <summary>
    /// Metrics (OTLP, Prometheus, a test's reader) and traces (OTLP, a test's exporter), each only when something will
    /// read it. Returns whether the request span middleware and the scrape endpoint must be added (<see cref="Use"/>).
    /// </summary>
    public static TelemetryPlan AddTelemetry(IServiceCollection services, TelemetryConfig telemetry, GatewayHostOptions options)
    {
        var endpoint = telemetry.OtlpEndpoint ?? options.Environment(OtlpEndpointVariable);
        var otlp = !string.IsNullOrWhiteSpace(endpoint);
        // Traces are asked for explicitly (the YAML switch or the standard OTEL_TRACES_EXPORTER): an OTLP endpoint alone
        // keeps the metrics-only cost profile, since spans cost CPU on every request.
        var tracesWanted = telemetry.Traces || (options.Environment(TracesExporterVariable)?.Contains("otlp", StringComparison.OrdinalIgnoreCase) ?? false);
        var plan = new TelemetryPlan(
            Metrics: otlp || telemetry.Prometheus || options.ConfigureMetrics is not null,
            Traces: (otlp && tracesWanted) || options.ConfigureTracing is not null,
            Prometheus: telemetry.Prometheus,
            OtlpTraces: otlp && tracesWanted);
        if (plan.Metrics || plan.Traces)
        {
            AddProviders(services, telemetry, options, otlp ? endpoint : null, plan);
        }

        return plan;
    }

    /// <summary>The request span (first, so it covers everything else) and <c>GET /metrics</c>, when planned.</summary>
    public static void Use(WebApplication app, TelemetryPlan plan)
    {
        if (plan.Traces)
        {
            app.UseMiddleware<RequestTracing>();
        }

        if (plan.Metrics)
        {
            StartBudgetGauges(app, plan);
        }
    }

    // Methods of their own so that the OpenTelemetry assemblies are loaded (when these are compiled) only by gateways
    // that export telemetry, not by every gateway whose AddTelemetry finds nothing to do.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void StartBudgetGauges(WebApplication app, TelemetryPlan plan)
    {
        // Created now (not on first scrape) so that OTLP's periodic reader sees the gauges from the start.
        _ = app.Services.GetRequiredService<BudgetGauges>();
        if (plan.Prometheus)
        {
            app.MapPrometheusScrapingEndpoint("/metrics");
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddProviders(IServiceCollection services, TelemetryConfig telemetry, GatewayHostOptions options, string? endpoint, TelemetryPlan plan)
    {
        var builder = services.AddOpenTelemetry();
        if (plan.Metrics)
        {
            services.AddSingleton<BudgetGauges>();
            builder.WithMetrics(metrics =>
            {
                metrics.AddMeter(GatewayMetrics.MeterName);
                if (endpoint is not null)
                {
                    metrics.AddOtlpExporter(o => Otlp(o, telemetry, "/v1/metrics"));
                }

                if (plan.Prometheus)
                {
                    metrics.AddPrometheusExporter();
                }

                options.ConfigureMetrics?.Invoke(metrics);
            });
        }

        if (plan.Traces)
        {
            builder.WithTracing(tracing =>
            {
                // The gateway's own spans; HttpClient's span of each upstream HTTP request (its id is the traceparent the
                // provider receives, so it must be exported for the trace to join up); Npgsql's database spans under the
                // ledger's (PostgreSQL storage).
                tracing.AddSource(GatewayTracing.SourceName, "System.Net.Http", "Npgsql");
                tracing.SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(telemetry.TraceSampleRatio)));
                if (plan.OtlpTraces)
                {
                    tracing.AddOtlpExporter(o => Otlp(o, telemetry, "/v1/traces"));
                }

                options.ConfigureTracing?.Invoke(tracing);
            });
        }
    }

    private static void Otlp(OtlpExporterOptions o, TelemetryConfig telemetry, string signalPath)
    {
        // The YAML setting wins; otherwise the exporter reads the OTEL_EXPORTER_OTLP_* variables itself. A configured
        // URL naming a signal's HTTP path (…/v1/metrics) selects OTLP over HTTP, each signal at its own path.
        if (telemetry.OtlpEndpoint is { } configured)
        {
            var http = configured.Contains("/v1/metrics", StringComparison.Ordinal) || configured.Contains("/v1/traces", StringComparison.Ordinal);
            o.Protocol = http ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
            o.Endpoint = new Uri(http ? configured.Replace("/v1/metrics", signalPath, StringComparison.Ordinal).Replace("/v1/traces", signalPath, StringComparison.Ordinal) : configured);
        }
    }
}

/// <summary>Which telemetry a gateway exports, decided once at start-up.</summary>
internal readonly record struct TelemetryPlan(bool Metrics, bool Traces, bool Prometheus, bool OtlpTraces);
