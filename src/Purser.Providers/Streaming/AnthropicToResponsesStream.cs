using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Providers.Translation;

namespace Purser.Providers.Streaming;

/// <summary>
/// Turns an Anthropic Messages stream into OpenAI Responses API events, event by event, for a Responses caller of an
/// Anthropic-backed model: <c>message_start</c> → <c>response.created</c>, <c>response.in_progress</c>; a text block →
/// <c>response.output_item.added</c> (a message), <c>response.content_part.added</c>, <c>response.output_text.delta</c>…,
/// and at its end <c>response.output_text.done</c>, <c>response.content_part.done</c>, <c>response.output_item.done</c>;
/// a tool_use block → a <c>function_call</c> item with <c>response.function_call_arguments.delta</c>…/<c>.done</c>;
/// <c>message_stop</c> → <c>response.completed</c> (or <c>response.incomplete</c> after <c>max_tokens</c>) with the
/// usage; an error → the Responses <c>error</c> event. Thinking is dropped. Each event has its <c>sequence_number</c>.
/// The done events carry the whole text, so each block's text is kept until its end. One instance per stream.
/// </summary>
public sealed class AnthropicToResponsesStream
{
    private readonly string _responseId;
    private readonly string _model;
    private readonly long _createdAt;
    private readonly int _maxOutputTokens;
    private readonly JsonFrameWriter _frames = new();
    private readonly List<Block?> _blocks = [];
    private readonly SortedDictionary<int, JsonObject> _done = [];
    private int _sequence;
    private int _nextOutput;

    public AnthropicToResponsesStream(string responseId, string model, long createdAt, int maxOutputTokens)
    {
        _responseId = responseId;
        _model = model;
        _createdAt = createdAt;
        _maxOutputTokens = maxOutputTokens;
    }

    /// <summary>Observes every translated event: usage, counts and stop reason of the upstream stream.</summary>
    public AnthropicStreamObserver Observer { get; } = new();

    /// <summary>The number of the next event written (the error event that ends a broken stream takes it).</summary>
    public int NextSequence => _sequence;

    public void Translate(SseEvent ev, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var data = ev.Data.Span;
        var kind = Observer.Observe(ev.EventName.Span, data);
        var e = Observer.LastEvent;
        switch (kind)
        {
            case AnthropicEventKind.MessageStart:
                WriteResponse(output, "response.created"u8, "in_progress", usage: false);
                WriteResponse(output, "response.in_progress"u8, "in_progress", usage: false);
                break;
            case AnthropicEventKind.ContentBlockStart:
                StartBlock(e, data, output);
                break;
            case AnthropicEventKind.Delta:
                WriteDelta(e, data, output);
                break;
            case AnthropicEventKind.ContentBlockStop:
                StopBlock(e, output);
                break;
            case AnthropicEventKind.MessageStop:
                var incomplete = Observer.StopReason is "max_tokens" or "model_context_window_exceeded";
                WriteResponse(output, incomplete ? "response.incomplete"u8 : "response.completed"u8, incomplete ? "incomplete" : "completed", usage: true);
                break;
            case AnthropicEventKind.Error:
                var json = Begin(output, "error"u8);
                json.WriteString("code"u8, Decode(e.ErrorType, data) ?? "api_error");
                json.WriteString("message"u8, Decode(e.ErrorMessage, data) ?? "The provider reported an error.");
                json.WriteNull("param"u8);
                End(json, output);
                break;
        }
    }

    private void StartBlock(AnthropicEvent e, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (e.Index < 0)
        {
            return;
        }

        while (_blocks.Count <= e.Index)
        {
            _blocks.Add(null);
        }

        if (e.Block == AnthropicEvent.BlockKind.Text)
        {
            var block = new Block(_nextOutput++, "msg_" + _responseId + "_" + _blocks.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), null, null);
            _blocks[e.Index] = block;
            var json = Begin(output, "response.output_item.added"u8);
            json.WriteNumber("output_index"u8, block.OutputIndex);
            json.WritePropertyName("item"u8);
            Message(block, "in_progress", withText: false).WriteTo(json);
            End(json, output);
            json = Begin(output, "response.content_part.added"u8);
            WritePosition(json, block);
            json.WritePropertyName("part"u8);
            AnthropicToResponses.TextPart("").WriteTo(json);
            End(json, output);
            if (e.BlockText.HasText)
            {
                WriteTextDelta(block, e.BlockText, data, output);
            }

            return;
        }

        if (e.Block == AnthropicEvent.BlockKind.ToolUse)
        {
            var callId = Decode(e.BlockId, data) ?? "";
            var block = new Block(_nextOutput++, "fc_" + callId, callId, Decode(e.BlockName, data) ?? "");
            _blocks[e.Index] = block;
            var json = Begin(output, "response.output_item.added"u8);
            json.WriteNumber("output_index"u8, block.OutputIndex);
            json.WritePropertyName("item"u8);
            AnthropicToResponses.FunctionCall(callId, block.Name!, "", "in_progress").WriteTo(json);
            End(json, output);
        }
    }

    private void WriteDelta(AnthropicEvent e, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (!e.DeltaText.HasText || e.Index < 0 || e.Index >= _blocks.Count || _blocks[e.Index] is not { } block)
        {
            return;
        }

        if (e.Delta == AnthropicEvent.DeltaKind.Text && block.CallId is null)
        {
            WriteTextDelta(block, e.DeltaText, data, output);
        }
        else if (e.Delta == AnthropicEvent.DeltaKind.InputJson && block.CallId is not null)
        {
            block.Text.Append(Decode(e.DeltaText, data));
            var json = Begin(output, "response.function_call_arguments.delta"u8);
            json.WriteString("item_id"u8, block.ItemId);
            json.WriteNumber("output_index"u8, block.OutputIndex);
            json.WritePropertyName("delta"u8);
            json.WriteRawValue(e.DeltaText.Quoted(data), skipInputValidation: true);
            End(json, output);
        }
    }

    private void WriteTextDelta(Block block, JsonStringToken text, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        block.Text.Append(Decode(text, data));
        var json = Begin(output, "response.output_text.delta"u8);
        WritePosition(json, block);
        json.WritePropertyName("delta"u8);
        json.WriteRawValue(text.Quoted(data), skipInputValidation: true);
        json.WriteStartArray("logprobs"u8);
        json.WriteEndArray();
        End(json, output);
    }

    private void StopBlock(AnthropicEvent e, IBufferWriter<byte> output)
    {
        if (e.Index < 0 || e.Index >= _blocks.Count || _blocks[e.Index] is not { } block)
        {
            return;
        }

        _blocks[e.Index] = null;
        Utf8JsonWriter json;
        JsonObject item;
        if (block.CallId is null)
        {
            var text = block.Text.ToString();
            json = Begin(output, "response.output_text.done"u8);
            WritePosition(json, block);
            json.WriteString("text"u8, text);
            json.WriteStartArray("logprobs"u8);
            json.WriteEndArray();
            End(json, output);
            json = Begin(output, "response.content_part.done"u8);
            WritePosition(json, block);
            json.WritePropertyName("part"u8);
            AnthropicToResponses.TextPart(text).WriteTo(json);
            End(json, output);
            item = Message(block, "completed", withText: true);
        }
        else
        {
            var arguments = block.Text.Length == 0 ? "{}" : block.Text.ToString();
            json = Begin(output, "response.function_call_arguments.done"u8);
            json.WriteString("item_id"u8, block.ItemId);
            json.WriteNumber("output_index"u8, block.OutputIndex);
            json.WriteString("name"u8, block.Name);
            json.WriteString("arguments"u8, arguments);
            End(json, output);
            item = AnthropicToResponses.FunctionCall(block.CallId, block.Name!, arguments, "completed");
        }

        json = Begin(output, "response.output_item.done"u8);
        json.WriteNumber("output_index"u8, block.OutputIndex);
        json.WritePropertyName("item"u8);
        item.WriteTo(json);
        End(json, output);
        _done[block.OutputIndex] = item;
    }

    private void WriteResponse(IBufferWriter<byte> output, ReadOnlySpan<byte> type, string status, bool usage)
    {
        var items = new JsonArray();
        if (usage)
        {
            foreach (var item in _done.Values)
            {
                items.Add(item.DeepClone());
            }
        }

        var response = AnthropicToResponses.Envelope(_responseId, _model, _createdAt, _maxOutputTokens, status, items);
        if (usage && Observer.ReportedUsage is { } reported)
        {
            response["usage"] = AnthropicToResponses.Usage(reported);
        }

        var json = Begin(output, type);
        json.WritePropertyName("response"u8);
        response.WriteTo(json);
        End(json, output);
    }

    private JsonObject Message(Block block, string status, bool withText) => new()
    {
        ["id"] = block.ItemId,
        ["type"] = "message",
        ["status"] = status,
        ["content"] = withText ? new JsonArray(AnthropicToResponses.TextPart(block.Text.ToString())) : new JsonArray(),
        ["role"] = "assistant",
    };

    private static void WritePosition(Utf8JsonWriter json, Block block)
    {
        json.WriteString("item_id"u8, block.ItemId);
        json.WriteNumber("output_index"u8, block.OutputIndex);
        json.WriteNumber("content_index"u8, 0);
    }

    private Utf8JsonWriter Begin(IBufferWriter<byte> output, ReadOnlySpan<byte> type)
    {
        var json = _frames.BeginEvent(output, type);
        json.WriteStartObject();
        json.WriteString("type"u8, type);
        json.WriteNumber("sequence_number"u8, _sequence++);
        return json;
    }

    private void End(Utf8JsonWriter json, IBufferWriter<byte> output)
    {
        json.WriteEndObject();
        _frames.End(output);
    }

    private static string? Decode(JsonStringToken token, ReadOnlySpan<byte> data)
    {
        if (!token.IsPresent)
        {
            return null;
        }

        var reader = new Utf8JsonReader(token.Quoted(data));
        return reader.Read() ? reader.GetString() : null;
    }

    /// <summary>An output item being streamed: its place, its id, and (for a function call) its call id and name.</summary>
    private sealed class Block(int outputIndex, string itemId, string? callId, string? name)
    {
        public int OutputIndex { get; } = outputIndex;

        public string ItemId { get; } = itemId;

        public string? CallId { get; } = callId;

        public string? Name { get; } = name;

        public StringBuilder Text { get; } = new();
    }
}
