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

    [Fact]
    public void Traces_are_off_by_default_and_sampled_at_the_configured_ratio()
    {
        var none = ParseValid("telemetry:\n  otlp_endpoint: http://127.0.0.1:4317\n").Telemetry;
        Assert.False(none.Traces);
        Assert.Equal(1, none.TraceSampleRatio);
        var some = ParseValid("telemetry:\n  traces: true\n  trace_sample_ratio: 0.25\n").Telemetry;
        Assert.True(some.Traces);
        Assert.Equal(0.25, some.TraceSampleRatio);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1.5")]
    [InlineData("-0.1")]
    [InlineData("half")]
    public void A_sample_ratio_outside_zero_to_one_is_an_error(string ratio)
    {
        var error = SingleError($"telemetry:\n  trace_sample_ratio: {ratio}\n");
        Assert.Equal(2, error.Line);
        Assert.Contains("telemetry.trace_sample_ratio", error.ToString(), StringComparison.Ordinal);
    }
}
