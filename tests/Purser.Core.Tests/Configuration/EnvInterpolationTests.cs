using static Purser.Core.Tests.Configuration.ConfigTestHelper;

namespace Purser.Core.Tests.Configuration;

public sealed class EnvInterpolationTests
{
    private const string ProviderWithKey = "providers:\n  p:\n    kind: openai\n    api_key: {0}\n";

    private static string WithKey(string value) => string.Format(System.Globalization.CultureInfo.InvariantCulture, ProviderWithKey, value);

    [Theory]
    [InlineData("${KEY}", "secret-1")]
    [InlineData("pre-${KEY}-post", "pre-secret-1-post")]
    [InlineData("${KEY}${KEY}", "secret-1secret-1")]
    [InlineData("${MISSING:-fallback}", "fallback")]
    [InlineData("${EMPTY:-fallback}", "fallback")]
    [InlineData("${KEY:-fallback}", "secret-1")]
    [InlineData("'$${KEY}'", "${KEY}")]
    [InlineData("cost$5", "cost$5")]
    public void Variables_are_expanded(string written, string expected)
    {
        var config = ParseValid(WithKey(written), new() { ["KEY"] = "secret-1", ["EMPTY"] = string.Empty });

        Assert.Equal(expected, config.Providers["p"].ApiKey);
    }

    [Fact]
    public void Empty_default_means_no_api_key()
    {
        var config = ParseValid(WithKey("${MISSING:-}"));

        Assert.Null(config.Providers["p"].ApiKey);
    }

    [Fact]
    public void Unset_variable_is_an_error_naming_the_field_and_the_variable()
    {
        var error = SingleError(WithKey("${OPENAI_API_KEY}"));

        Assert.Equal(4, error.Line);
        Assert.Equal("providers.p.api_key", error.Field);
        Assert.Contains("'OPENAI_API_KEY' is not set", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_unset_variable_is_reported()
    {
        var result = Parse("providers:\n  p:\n    kind: openai\n    base_url: ${HOST}\n    api_key: ${A}-${B}\n");

        Assert.Equal(3, result.Errors.Count);
        Assert.Contains(result.Errors, e => e.Field == "providers.p.base_url" && e.Message.Contains("'HOST'", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Field == "providers.p.api_key" && e.Message.Contains("'A'", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Field == "providers.p.api_key" && e.Message.Contains("'B'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("${OPEN")]
    [InlineData("${}")]
    [InlineData("${has space}")]
    public void Malformed_reference_is_an_error(string written)
    {
        var error = SingleError(WithKey("'" + written + "'"));

        Assert.Equal("providers.p.api_key", error.Field);
    }

    [Fact]
    public void Values_from_the_environment_never_appear_in_errors()
    {
        var env = new Dictionary<string, string>
        {
            ["URL"] = "not-a-url-SECRET1",
            ["KIND"] = "SECRET2",
            ["SIZE"] = "SECRET3",
            ["PROVIDER"] = "SECRET4",
        };
        var result = Parse("""
            server:
              listen: ${URL}
              max_body_bytes: ${SIZE}
            providers:
              p: { kind: "${KIND}" }
            models:
              m: { provider: "${PROVIDER}" }
            """, env);

        Assert.Equal(4, result.Errors.Count);
        var all = string.Join('\n', result.Errors.Select(e => e.ToString() + e.Message));
        Assert.DoesNotContain("SECRET", all, StringComparison.Ordinal);
        Assert.Contains("server.listen: expected an absolute http:// or https:// URL, got the value of ${URL}", all, StringComparison.Ordinal);
        Assert.Contains("got the value of ${SIZE}", all, StringComparison.Ordinal);
        Assert.Contains("unknown kind the value of ${KIND}", all, StringComparison.Ordinal);
        Assert.Contains("unknown provider the value of ${PROVIDER}", all, StringComparison.Ordinal);
    }

    [Fact]
    public void Numbers_and_prices_can_come_from_the_environment()
    {
        var config = ParseValid("""
            server:
              upstream_timeout_seconds: ${TIMEOUT:-30}
            providers:
              p: { kind: openai }
            models:
              m: { provider: p, price: { input: "${IN}", output: 2 } }
            """, new() { ["IN"] = "0.5" });

        Assert.Equal(30, config.Server.UpstreamTimeoutSeconds);
        Assert.Equal(500_000_000, config.Models["m"].Price!.InputPerMillion);
    }
}
