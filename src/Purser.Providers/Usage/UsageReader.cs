using System.Text.Json;
using Purser.Usage;

namespace Purser.Providers.Usage;

/// <summary>Reads the usage of a complete (non-streamed) provider response body.</summary>
public static class UsageReader
{
    /// <summary>
    /// The top-level "usage" of an OpenAI chat.completion or embeddings response (embeddings report prompt_tokens
    /// only, so OutputTokens is 0). InputTokens is prompt_tokens, which already includes the cached tokens.
    /// </summary>
    public static bool TryReadOpenAi(ReadOnlySpan<byte> responseJson, out TokenUsage usage)
    {
        usage = default;
        try
        {
            // usage and service_tier (the tier the call was served at, priced as such) are both top-level fields.
            var reader = new Utf8JsonReader(responseJson);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            var found = false;
            ServiceTier? tier = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isUsage = reader.ValueTextEquals("usage"u8);
                var isTier = reader.ValueTextEquals("service_tier"u8);
                reader.Read();
                if (isUsage && reader.TokenType == JsonTokenType.StartObject && !found)
                {
                    found = UsageJson.ReadOpenAi(ref reader, out usage);
                }
                else if (isTier && reader.TokenType == JsonTokenType.String)
                {
                    tier = ServiceTiers.Parse(reader.GetString());
                }
                else
                {
                    reader.Skip();
                }
            }

            usage = usage with { Tier = tier ?? ServiceTier.Default };
            return found;
        }
        catch (JsonException)
        {
            usage = default;
            return false;
        }
    }

    /// <summary>
    /// The top-level "usage" of an Anthropic Message. Anthropic's input_tokens excludes cache reads and writes;
    /// they are added back so that InputTokens is the whole prompt, as <see cref="TokenUsage"/> defines it.
    /// </summary>
    public static bool TryReadAnthropic(ReadOnlySpan<byte> responseJson, out TokenUsage usage)
    {
        usage = default;
        try
        {
            var reader = new Utf8JsonReader(responseJson);
            if (!SeekTopLevelUsage(ref reader))
            {
                return false;
            }

            var fields = UsageJson.ReadAnthropic(ref reader);
            if (fields.InputTokens is null && fields.OutputTokens is null)
            {
                return false;
            }

            usage = ToTokenUsage(fields);
            return true;
        }
        catch (JsonException)
        {
            usage = default;
            return false;
        }
    }

    internal static TokenUsage ToTokenUsage(AnthropicUsageFields fields)
    {
        var cacheRead = fields.CacheReadTokens ?? 0;
        var cacheWrite = fields.CacheCreationTokens ?? 0;
        return new TokenUsage(
            (fields.InputTokens ?? 0) + cacheRead + cacheWrite,
            fields.OutputTokens ?? 0,
            cacheRead,
            cacheWrite,
            CacheWrite1hTokens: fields.CacheWrite1hTokens ?? 0,
            WebSearchRequests: fields.WebSearchRequests ?? 0);
    }

    // Leaves the reader on the StartObject of the root object's "usage" property.
    private static bool SeekTopLevelUsage(ref Utf8JsonReader reader)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isUsage = reader.ValueTextEquals("usage"u8);
            reader.Read();
            if (isUsage && reader.TokenType == JsonTokenType.StartObject)
            {
                return true;
            }

            reader.Skip();
        }

        return false;
    }
}
