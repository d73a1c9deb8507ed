using static Purser.Core.Tests.Configuration.ConfigTestHelper;

namespace Purser.Core.Tests.Configuration;

public sealed class TelemetryConfigTests
{
    [Fact]
    public void Prometheus_is_off_by_default_and_turned_on_by_the_telemetry_switch()
    {
        Assert.False(ParseValid("server:\n  listen: http://127.0.0.1:8080\n").Telemetry.Prometheus);
        Assert.True(ParseValid("telemetry:\n  prometheus: true\n").Telemetry.Prometheus);
        Assert.False(ParseValid("telemetry:\n  prometheus: false\n  log_format: json\n").Telemetry.Prometheus);
    }

    [Fact]
    public void A_prometheus_switch_that_is_not_a_boolean_is_an_error_with_its_line()
    {
        var error = SingleError("telemetry:\n  otlp_endpoint: http://127.0.0.1:4317\n  prometheus: sometimes\n");
        Assert.Equal(3, error.Line);
        Assert.Contains("telemetry.prometheus", error.ToString(), StringComparison.Ordinal);
    }
}
