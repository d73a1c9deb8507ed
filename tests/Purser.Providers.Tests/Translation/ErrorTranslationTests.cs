using System.Text;
using Purser.Providers.Translation;
using static Purser.Providers.Tests.Translation.JsonAssert;

namespace Purser.Providers.Tests.Translation;

public sealed class ErrorTranslationTests
{
    [Fact]
    public void OpenAi_error_becomes_anthropic_error_keeping_message()
    {
        var body = """{"error":{"message":"Rate limit reached for gpt-4o","type":"requests","param":null,"code":"rate_limit_exceeded"}}"""u8;
        Equal("""{"type":"error","error":{"type":"rate_limit_error","message":"Rate limit reached for gpt-4o"}}""",
            ErrorTranslation.OpenAiErrorToAnthropic(429, body));
    }

    [Fact]
    public void Anthropic_error_becomes_openai_error_keeping_message()
    {
        var body = """{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: must be positive"},"request_id":"req_1"}"""u8;
        Equal("""{"error":{"message":"max_tokens: must be positive","type":"invalid_request_error","param":null,"code":null}}""",
            ErrorTranslation.AnthropicErrorToOpenAi(400, body));
    }

    [Fact]
    public void Anthropic_rate_limit_becomes_openai_requests_type_with_rate_limit_code()
    {
        var body = """{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"""u8;
        Equal("""{"error":{"message":"slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}}""",
            ErrorTranslation.AnthropicErrorToOpenAi(429, body));
    }

    [Theory]
    [InlineData("<html>502 Bad Gateway</html>")]
    [InlineData("")]
    [InlineData("[1,2,3]")]
    [InlineData("""{"error":{"code":5}}""")]
    [InlineData("""{"unrelated":true}""")]
    public void Garbage_bodies_get_a_generic_message_for_the_status(string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var anthropic = ErrorTranslation.OpenAiErrorToAnthropic(503, bytes);
        Assert.Equal("error", (string?)anthropic["type"]);
        Assert.Equal("api_error", (string?)anthropic["error"]!["type"]);
        Assert.Equal("The upstream provider failed to process the request.", (string?)anthropic["error"]!["message"]);

        var openAi = ErrorTranslation.AnthropicErrorToOpenAi(401, bytes);
        Equal("""{"error":{"message":"The upstream provider rejected the gateway's credentials.","type":"authentication_error","param":null,"code":null}}""",
            openAi);
    }

    [Fact]
    public void Bare_string_error_field_is_kept_as_message()
    {
        var anthropic = ErrorTranslation.OpenAiErrorToAnthropic(404, """{"error":"model not found"}"""u8);
        Equal("""{"type":"error","error":{"type":"not_found_error","message":"model not found"}}""", anthropic);
    }

    [Theory]
    [InlineData(400, "invalid_request_error")]
    [InlineData(401, "authentication_error")]
    [InlineData(403, "permission_error")]
    [InlineData(404, "not_found_error")]
    [InlineData(409, "invalid_request_error")]
    [InlineData(413, "request_too_large")]
    [InlineData(429, "rate_limit_error")]
    [InlineData(500, "api_error")]
    [InlineData(502, "api_error")]
    [InlineData(529, "overloaded_error")]
    public void Anthropic_error_type_follows_status(int status, string expected) =>
        Assert.Equal(expected, ErrorTranslation.AnthropicErrorTypeFor(status));

    [Theory]
    [InlineData(400, "invalid_request_error")]
    [InlineData(401, "authentication_error")]
    [InlineData(403, "permission_error")]
    [InlineData(404, "not_found_error")]
    [InlineData(422, "invalid_request_error")]
    [InlineData(429, "requests")]
    [InlineData(500, "server_error")]
    [InlineData(503, "server_error")]
    [InlineData(529, "server_error")]
    public void OpenAi_error_type_follows_status(int status, string expected) =>
        Assert.Equal(expected, ErrorTranslation.OpenAiErrorTypeFor(status));
}
