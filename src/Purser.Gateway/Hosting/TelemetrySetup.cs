using System.Runtime.CompilerServices;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using Purser.Configuration;
using Purser.Gateway.Telemetry;

namespace Purser.Gateway.Hosting;

/// <summary>
/// Console logs (single-line text, or one JSON object per line) and the OpenTelemetry meter provider, which exists
/// only when something will read it: an OTLP endpoint (the <c>telemetry.otlp_endpoint</c> setting or the standard
/// OTEL_EXPORTER_OTLP_ENDPOINT variable) or a test's exporter.
/// </summary>
internal static class TelemetrySetup
{
    public const string LogFormatVariable = "PURSER_LOG_FORMAT";
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

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

    public static void AddMetrics(IServiceCollection services, TelemetryConfig telemetry, GatewayHostOptions options)
    {
        var endpoint = telemetry.OtlpEndpoint ?? options.Environment(OtlpEndpointVariable);
        if (string.IsNullOrWhiteSpace(endpoint) && options.ConfigureMetrics is null)
        {
            return;
        }

        AddMeterProvider(services, telemetry, options, endpoint);
    }

    // A method of its own so that the OpenTelemetry assemblies are loaded (when this is compiled) only by gateways that
    // export metrics, not by every gateway whose AddMetrics returns early.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddMeterProvider(IServiceCollection services, TelemetryConfig telemetry, GatewayHostOptions options, string? endpoint)
    {
        services.AddOpenTelemetry().WithMetrics(metrics =>
        {
            metrics.AddMeter(GatewayMetrics.MeterName);
            if (!string.IsNullOrWhiteSpace(endpoint))
            {
                metrics.AddOtlpExporter(o =>
                {
                    // The YAML setting wins; otherwise the exporter reads the OTEL_EXPORTER_OTLP_* variables itself.
                    if (telemetry.OtlpEndpoint is { } configured)
                    {
                        o.Endpoint = new Uri(configured);
                        o.Protocol = configured.Contains("/v1/metrics", StringComparison.Ordinal) ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
                    }
                });
            }

            options.ConfigureMetrics?.Invoke(metrics);
        });
    }
}
