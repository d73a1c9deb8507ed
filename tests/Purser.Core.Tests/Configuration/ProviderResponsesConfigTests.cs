using Purser.Configuration;
using static Purser.Core.Tests.Configuration.ConfigTestHelper;

namespace Purser.Core.Tests.Configuration;

/// <summary><c>responses: false</c> marks an OpenAI-format provider without the Responses API; it is a boolean, and not for Anthropic.</summary>
public sealed class ProviderResponsesConfigTests
{
    [Fact]
    public void Responses_defaults_to_true_and_false_marks_a_chat_only_provider()
    {
        var config = ParseValid("""
            providers:
              openai: { kind: openai, api_key: k }
              local: { kind: openai, base_url: "http://127.0.0.1:11434/v1", responses: false }
            models:
              a: { provider: openai, upstream: gpt-4o, price: { input: 1, output: 2 } }
              b: { provider: local, upstream: llama, price: { input: 1, output: 2 } }
            """);

        Assert.True(config.Providers["openai"].ResponsesApi);
        Assert.False(config.Providers["local"].ResponsesApi);
    }

    [Theory]
    [InlineData("{ kind: openai, responses: maybe }", "expected true or false")]
    [InlineData("{ kind: anthropic, responses: false }", "is only used by OpenAI-format providers")]
    public void Responses_mistakes_are_errors(string body, string message)
    {
        var error = SingleError("providers:\n  p: " + body + "\n");
        Assert.Equal("providers.p.responses", error.Field);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
