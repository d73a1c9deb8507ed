using System.Text.Json;
using Purser.Providers.Usage;
using Purser.Usage;

namespace Purser.Providers.Streaming;

/// <summary>
/// The fields of one OpenAI chat.completion.chunk that accounting and translation need, found in a single
/// forward-only scan. Reused chunk after chunk; string fields point into the data last parsed. Translation fields
/// come from the first choice (a translated stream has one); counts cover every choice.
/// </summary>
internal sealed class OpenAiChunk
{
    private readonly List<OpenAiToolCallDelta> _toolCalls = new(4);

    public bool HasChoices { get; private set; }

    public JsonStringToken Content { get; private set; }

    public JsonStringToken Refusal { get; private set; }

    public List<OpenAiToolCallDelta> ToolCalls => _toolCalls;

    public string? FinishReason { get; private set; }

    public bool HasUsage { get; private set; }

    public TokenUsage Usage { get; private set; }

    public bool IsError { get; private set; }

    public JsonStringToken ErrorMessage { get; private set; }

    public JsonStringToken ErrorType { get; private set; }

    /// <summary>UTF-8 bytes of generated text in this chunk: content, refusal, reasoning, tool names and arguments.</summary>
    public long GeneratedBytes { get; private set; }

    public bool CarriesGeneratedText { get; private set; }

    /// <summary>Parses one event's data; false when it is not a well-formed JSON object.</summary>
    public bool TryParse(ReadOnlySpan<byte> data)
    {
        Reset();
        try
        {
            var reader = new Utf8JsonReader(data);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            ServiceTier? tier = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartArray)
                    {
                        ReadChoices(ref reader);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        HasUsage = UsageJson.ReadOpenAi(ref reader, out var usage);
                        Usage = usage;
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("service_tier"u8))
                {
                    // Every chunk names it; compared in place, so no string per chunk.
                    reader.Read();
                    tier = reader.TokenType != JsonTokenType.String ? tier
                        : reader.ValueTextEquals("priority"u8) ? ServiceTier.Priority
                        : reader.ValueTextEquals("flex"u8) ? ServiceTier.Flex
                        : reader.ValueTextEquals("batch"u8) ? ServiceTier.Batch
                        : ServiceTier.Default;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        IsError = true;
                        ReadError(ref reader);
                    }
                    else if (reader.TokenType != JsonTokenType.Null)
                    {
                        IsError = true;
                        reader.Skip();
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (HasUsage && tier is { } servedAt)
            {
                Usage = Usage with { Tier = servedAt };
            }

            // Read() throws on anything but whitespace after the root object.
            return reader.TokenType == JsonTokenType.EndObject && !reader.Read();
        }
        catch (JsonException)
        {
            Reset();
            return false;
        }
    }

    private void Reset()
    {
        HasChoices = false;
        Content = default;
        Refusal = default;
        _toolCalls.Clear();
        FinishReason = null;
        HasUsage = false;
        Usage = default;
        IsError = false;
        ErrorMessage = default;
        ErrorType = default;
        GeneratedBytes = 0;
        CarriesGeneratedText = false;
    }

    private void ReadChoices(ref Utf8JsonReader reader)
    {
        var first = true;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            HasChoices = true;
            ReadChoice(ref reader, first);
            first = false;
        }
    }

    private void ReadChoice(ref Utf8JsonReader reader, bool record)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("delta"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    ReadDelta(ref reader, record);
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("finish_reason"u8))
            {
                reader.Read();
                if (record && reader.TokenType == JsonTokenType.String)
                {
                    FinishReason = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private void ReadDelta(ref Utf8JsonReader reader, bool record)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("content"u8))
            {
                var content = ReadGeneratedString(ref reader);
                if (record)
                {
                    Content = content;
                }
            }
            else if (reader.ValueTextEquals("refusal"u8))
            {
                var refusal = ReadGeneratedString(ref reader);
                if (record)
                {
                    Refusal = refusal;
                }
            }
            else if (reader.ValueTextEquals("reasoning_content"u8) || reader.ValueTextEquals("reasoning"u8))
            {
                // OpenAI-compatible reasoning models stream their (billed) reasoning here; counted, never translated.
                ReadGeneratedString(ref reader);
            }
            else if (reader.ValueTextEquals("tool_calls"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        ReadToolCall(ref reader, record);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private void ReadToolCall(ref Utf8JsonReader reader, bool record)
    {
        var index = 0;
        JsonStringToken id = default;
        JsonStringToken name = default;
        JsonStringToken arguments = default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("index"u8))
            {
                if (UsageJson.TryReadCount(ref reader, out var value) && value <= int.MaxValue)
                {
                    index = (int)value;
                }
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                id = JsonStringToken.Read(ref reader);
                reader.Skip();
            }
            else if (reader.ValueTextEquals("function"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("name"u8))
                    {
                        name = ReadGeneratedString(ref reader);
                    }
                    else if (reader.ValueTextEquals("arguments"u8))
                    {
                        arguments = ReadGeneratedString(ref reader);
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (record)
        {
            _toolCalls.Add(new OpenAiToolCallDelta(index, id, name, arguments));
        }
    }

    private void ReadError(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("message"u8))
            {
                reader.Read();
                ErrorMessage = JsonStringToken.Read(ref reader);
                reader.Skip();
            }
            else if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                ErrorType = JsonStringToken.Read(ref reader);
                reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    // Reads the value after a property name and counts it as generated output when it is a string.
    private JsonStringToken ReadGeneratedString(ref Utf8JsonReader reader)
    {
        reader.Read();
        var token = JsonStringToken.Read(ref reader);
        reader.Skip();
        GeneratedBytes += token.DecodedLength;
        if (token.HasText)
        {
            CarriesGeneratedText = true;
        }

        return token;
    }
}
