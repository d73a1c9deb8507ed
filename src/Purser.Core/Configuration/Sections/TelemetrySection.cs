using YamlDotNet.RepresentationModel;

namespace Purser.Configuration.Sections;

/// <summary>The <c>telemetry:</c> section: <c>otlp_endpoint</c>, <c>log_format</c> (text or json), <c>prometheus</c>, <c>traces</c> and <c>trace_sample_ratio</c>.</summary>
internal sealed class TelemetrySection(ConfigDiagnostics diagnostics) : SectionReader(diagnostics)
{
    private static readonly string[] TelemetryFields = ["otlp_endpoint", "log_format", "prometheus", "traces", "trace_sample_ratio"];

    public TelemetryConfig Read(YamlNode node)
    {
        var telemetry = new TelemetryConfig();
        if (!TryMapping(node, "telemetry", out var map))
        {
            return telemetry;
        }

        var fields = Fields(map, "telemetry", TelemetryFields);
        if (fields.TryGetValue("otlp_endpoint", out var endpointNode) && TryHttpUrl(endpointNode, "telemetry.otlp_endpoint", out var endpoint))
        {
            telemetry = telemetry with { OtlpEndpoint = endpoint.Value };
        }

        if (fields.TryGetValue("log_format", out var formatNode) && TryScalar(formatNode, "telemetry.log_format", out var format))
        {
            switch (format.Value)
            {
                case "json":
                    telemetry = telemetry with { JsonLogs = true };
                    break;
                case "text":
                    break;
                default:
                    Error(format.Line, "telemetry.log_format", $"expected 'text' or 'json', got {format.Describe()}");
                    break;
            }
        }

        if (fields.TryGetValue("prometheus", out var prometheusNode) && TryBool(prometheusNode, "telemetry.prometheus", out var prometheus))
        {
            telemetry = telemetry with { Prometheus = prometheus };
        }

        if (fields.TryGetValue("traces", out var tracesNode) && TryBool(tracesNode, "telemetry.traces", out var traces))
        {
            telemetry = telemetry with { Traces = traces };
        }

        if (fields.TryGetValue("trace_sample_ratio", out var ratioNode) && TryScalar(ratioNode, "telemetry.trace_sample_ratio", out var ratioText, ScalarKind.Amount))
        {
            if (double.TryParse(ratioText.Value, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var ratio) && ratio > 0 && ratio <= 1)
            {
                telemetry = telemetry with { TraceSampleRatio = ratio };
            }
            else
            {
                Error(ratioText.Line, "telemetry.trace_sample_ratio", $"expected a number greater than 0 and at most 1, got {ratioText.Describe()}");
            }
        }

        return telemetry;
    }
}
