using System.Text.Json;
using Purser.Usage;

namespace Purser.Providers.Usage;

/// <summary>Reads provider "usage" objects with a forward-only reader positioned on their StartObject.</summary>
internal static class UsageJson
{
    /// <summary>
    /// An OpenAI usage object: chat (prompt_tokens/completion_tokens), embeddings (prompt_tokens only) or the
    /// Responses API (input_tokens/output_tokens). False when it carries no input count.
    /// </summary>
    public static bool ReadOpenAi(ref Utf8JsonReader reader, out TokenUsage usage)
    {
        long? input = null;
        long output = 0;
        long cached = 0;
        long reasoning = 0;
        var depth = reader.CurrentDepth;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            if (reader.ValueTextEquals("prompt_tokens"u8) || reader.ValueTextEquals("input_tokens"u8))
            {
                if (TryReadCount(ref reader, out var value))
                {
                    input = value;
                }
            }
            else if (reader.ValueTextEquals("completion_tokens"u8) || reader.ValueTextEquals("output_tokens"u8))
            {
                if (TryReadCount(ref reader, out var value))
                {
                    output = value;
                }
            }
            else if (reader.ValueTextEquals("prompt_tokens_details"u8) || reader.ValueTextEquals("input_tokens_details"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    cached = ReadDetail(ref reader, "cached_tokens"u8);
                }
            }
            else if (reader.ValueTextEquals("completion_tokens_details"u8) || reader.ValueTextEquals("output_tokens_details"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    reasoning = ReadDetail(ref reader, "reasoning_tokens"u8);
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        usage = new TokenUsage(input ?? 0, output, cached, ReasoningTokens: reasoning);
        return input is not null;
    }

    /// <summary>An Anthropic usage object; each count is null when the object does not carry it.</summary>
    public static AnthropicUsageFields ReadAnthropic(ref Utf8JsonReader reader)
    {
        var fields = default(AnthropicUsageFields);
        var depth = reader.CurrentDepth;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            long value;
            if (reader.ValueTextEquals("input_tokens"u8))
            {
                if (TryReadCount(ref reader, out value))
                {
                    fields.InputTokens = value;
                }
            }
            else if (reader.ValueTextEquals("output_tokens"u8))
            {
                if (TryReadCount(ref reader, out value))
                {
                    fields.OutputTokens = value;
                }
            }
            else if (reader.ValueTextEquals("cache_read_input_tokens"u8))
            {
                if (TryReadCount(ref reader, out value))
                {
                    fields.CacheReadTokens = value;
                }
            }
            else if (reader.ValueTextEquals("cache_creation_input_tokens"u8))
            {
                if (TryReadCount(ref reader, out value))
                {
                    fields.CacheCreationTokens = value;
                }
            }
            else if (reader.ValueTextEquals("cache_creation"u8))
            {
                // { ephemeral_5m_input_tokens, ephemeral_1h_input_tokens }: the split of cache_creation_input_tokens.
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    fields.CacheWrite1hTokens = ReadDetail(ref reader, "ephemeral_1h_input_tokens"u8);
                }
            }
            else if (reader.ValueTextEquals("server_tool_use"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    fields.WebSearchRequests = ReadDetail(ref reader, "web_search_requests"u8);
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return fields;
    }

    /// <summary>Reads the value after a property name as a non-negative integer count.</summary>
    public static bool TryReadCount(ref Utf8JsonReader reader, out long value)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out value) && value >= 0)
        {
            return true;
        }

        reader.Skip();
        value = 0;
        return false;
    }

    /// <summary>One count of a details object (the reader on its StartObject); 0 when absent.</summary>
    private static long ReadDetail(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        long cached = 0;
        var depth = reader.CurrentDepth;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            if (reader.ValueTextEquals(name))
            {
                if (TryReadCount(ref reader, out var value))
                {
                    cached = value;
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return cached;
    }
}
