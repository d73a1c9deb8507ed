using Purser.Configuration;
using static Purser.Core.Tests.Configuration.ConfigTestHelper;

namespace Purser.Core.Tests.Configuration;

/// <summary><c>kind: azure_openai</c> needs its resource endpoint and <c>api_version</c>; no other kind takes one.</summary>
public sealed class ProviderKindConfigTests
{
    [Fact]
    public void Azure_openai_reads_its_endpoint_key_and_api_version()
    {
        var config = ParseValid("""
            providers:
              azure: { kind: azure_openai, base_url: "https://my-resource.openai.azure.com", api_key: azure-secret, api_version: 2024-10-21 }
            models:
              gpt: { provider: azure, upstream: gpt-4o-prod, price: { input: 2.5, output: 10 } }
            """);

        var provider = config.Providers["azure"];
        Assert.Equal(ProviderKind.AzureOpenAI, provider.Kind);
        Assert.Equal("2024-10-21", provider.ApiVersion);
        Assert.True(provider.SpeaksOpenAi);
        Assert.EndsWith("ApiKey = *** }", provider.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ kind: azure_openai, api_version: 2024-10-21 }", "providers.azure.base_url", "is required for azure_openai")]
    [InlineData("{ kind: azure_openai, base_url: \"https://r.openai.azure.com\" }", "providers.azure.api_version", "is required for azure_openai")]
    [InlineData("{ kind: openai, api_version: 2024-10-21 }", "providers.azure.api_version", "is only used by kind: azure_openai")]
    [InlineData("{ kind: azure_openai, base_url: \"https://r.openai.azure.com\", api_version: \"2024&x=1\" }", "providers.azure.api_version", "is not an api-version")]
    public void Azure_openai_mistakes_are_errors(string body, string field, string message)
    {
        var error = SingleError("providers:\n  azure: " + body + "\n");
        Assert.Equal(field, error.Field);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
