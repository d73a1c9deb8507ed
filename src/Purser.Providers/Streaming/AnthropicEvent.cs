using System.Text.Json;
using Purser.Providers.Usage;

namespace Purser.Providers.Streaming;

/// <summary>
/// The fields of one Anthropic stream event that accounting and translation need, found in a single forward-only
/// scan whatever the order of its properties. Reused event after event; string fields point into the data last parsed.
/// </summary>
internal sealed class AnthropicEvent
{
    public enum BlockKind
    {
        None = 0,
        Text = 1,
        ToolUse = 2,
        Thinking = 3,
        Other = 4,
    }

    public enum DeltaKind
    {
        None = 0,
        Text = 1,
        InputJson = 2,
        Thinking = 3,
        Other = 4,
    }

    public AnthropicEventKind Kind { get; private set; }

    /// <summary>The content block index; -1 when the event has none.</summary>
    public int Index { get; private set; }

    public BlockKind Block { get; private set; }

    public JsonStringToken BlockId { get; private set; }

    public JsonStringToken BlockName { get; private set; }

    public JsonStringToken BlockText { get; private set; }

    public DeltaKind Delta { get; private set; }

    /// <summary>The delta's text, partial_json or thinking, whichever its type carries.</summary>
    public JsonStringToken DeltaText { get; private set; }

    /// <summary>message_delta.delta.stop_reason when not null.</summary>
    public string? StopReason { get; private set; }

    /// <summary>message_start.message.usage.</summary>
    public AnthropicUsageFields MessageUsage { get; private set; }

    /// <summary>The top-level usage of message_delta.</summary>
    public AnthropicUsageFields Usage { get; private set; }

    public JsonStringToken ErrorType { get; private set; }

    public JsonStringToken ErrorMessage { get; private set; }

    /// <summary>Parses one event; false when its data is not a well-formed JSON object.</summary>
    public bool TryParse(ReadOnlySpan<byte> eventName, ReadOnlySpan<byte> data)
    {
        Reset();
        var kind = (AnthropicEventKind?)null;
        try
        {
            var reader = new Utf8JsonReader(data);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        kind = KindOf(reader.ValueSpan, reader.ValueIsEscaped);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("index"u8))
                {
                    if (UsageJson.TryReadCount(ref reader, out var index) && index <= int.MaxValue)
                    {
                        Index = (int)index;
                    }
                }
                else if (reader.ValueTextEquals("message"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        ReadMessage(ref reader);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("content_block"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        ReadContentBlock(ref reader);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("delta"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        ReadDelta(ref reader);
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
                        Usage = UsageJson.ReadAnthropic(ref reader);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        ReadError(ref reader);
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

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                Reset();
                return false;
            }
        }
        catch (JsonException)
        {
            Reset();
            return false;
        }

        // Every Anthropic event names its type in the data; the SSE event name is the fallback.
        Kind = kind ?? KindOf(eventName, escaped: false);
        return true;
    }

    private static AnthropicEventKind KindOf(ReadOnlySpan<byte> type, bool escaped)
    {
        if (escaped)
        {
            return AnthropicEventKind.Other;
        }

        return type switch
        {
            _ when type.SequenceEqual("message_start"u8) => AnthropicEventKind.MessageStart,
            _ when type.SequenceEqual("content_block_start"u8) => AnthropicEventKind.ContentBlockStart,
            _ when type.SequenceEqual("content_block_delta"u8) => AnthropicEventKind.Delta,
            _ when type.SequenceEqual("content_block_stop"u8) => AnthropicEventKind.ContentBlockStop,
            _ when type.SequenceEqual("message_delta"u8) => AnthropicEventKind.MessageDelta,
            _ when type.SequenceEqual("message_stop"u8) => AnthropicEventKind.MessageStop,
            _ when type.SequenceEqual("ping"u8) => AnthropicEventKind.Ping,
            _ when type.SequenceEqual("error"u8) => AnthropicEventKind.Error,
            _ => AnthropicEventKind.Other,
        };
    }

    private void Reset()
    {
        Kind = AnthropicEventKind.Other;
        Index = -1;
        Block = BlockKind.None;
        BlockId = default;
        BlockName = default;
        BlockText = default;
        Delta = DeltaKind.None;
        DeltaText = default;
        StopReason = null;
        MessageUsage = default;
        Usage = default;
        ErrorType = default;
        ErrorMessage = default;
    }

    private void ReadMessage(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isUsage = reader.ValueTextEquals("usage"u8);
            reader.Read();
            if (isUsage && reader.TokenType == JsonTokenType.StartObject)
            {
                MessageUsage = UsageJson.ReadAnthropic(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }
    }

    private void ReadContentBlock(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                Block = reader.TokenType != JsonTokenType.String ? BlockKind.Other
                    : reader.ValueTextEquals("text"u8) ? BlockKind.Text
                    : reader.ValueTextEquals("tool_use"u8) ? BlockKind.ToolUse
                    : reader.ValueTextEquals("thinking"u8) ? BlockKind.Thinking
                    : BlockKind.Other;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                BlockId = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("name"u8))
            {
                BlockName = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("text"u8))
            {
                BlockText = ReadString(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private void ReadDelta(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                Delta = reader.TokenType != JsonTokenType.String ? DeltaKind.Other
                    : reader.ValueTextEquals("text_delta"u8) ? DeltaKind.Text
                    : reader.ValueTextEquals("input_json_delta"u8) ? DeltaKind.InputJson
                    : reader.ValueTextEquals("thinking_delta"u8) ? DeltaKind.Thinking
                    : DeltaKind.Other;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("text"u8) || reader.ValueTextEquals("partial_json"u8)
                || reader.ValueTextEquals("thinking"u8))
            {
                DeltaText = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("stop_reason"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    StopReason = reader.GetString();
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

    private void ReadError(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                ErrorType = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("message"u8))
            {
                ErrorMessage = ReadString(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private static JsonStringToken ReadString(ref Utf8JsonReader reader)
    {
        reader.Read();
        var token = JsonStringToken.Read(ref reader);
        reader.Skip();
        return token;
    }
}
