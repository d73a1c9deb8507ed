using System.Buffers;
using System.Text.Json;

namespace Purser.Providers.Streaming;

/// <summary>
/// Turns an Anthropic Messages stream into OpenAI chat.completion.chunk frames, event by event, for an OpenAI caller
/// of an Anthropic-backed model. Text and tool-input fragments are copied verbatim (already-escaped JSON); thinking
/// is dropped, as OpenAI chat has no place for it. One instance per stream; not thread-safe.
/// </summary>
public sealed class AnthropicToOpenAiStream
{
    private static readonly JsonEncodedText Stop = JsonEncodedText.Encode("stop");
    private static readonly JsonEncodedText Length = JsonEncodedText.Encode("length");
    private static readonly JsonEncodedText ToolCalls = JsonEncodedText.Encode("tool_calls");
    private static readonly JsonEncodedText ContentFilter = JsonEncodedText.Encode("content_filter");

    private readonly JsonEncodedText _completionId;
    private readonly JsonEncodedText _model;
    private readonly long _created;
    private readonly bool _includeUsage;
    private readonly JsonFrameWriter _frames = new();

    // Anthropic content block index -> OpenAI tool_calls index (-1: not a tool block). Blocks are few and numbered
    // from 0, so a list indexed by block is both the cheapest and the simplest map.
    private readonly List<int> _toolIndexByBlock = [];
    private int _toolCount;
    private bool _usageWritten;
    private bool _doneWritten;

    public AnthropicToOpenAiStream(string completionId, string model, long created, bool includeUsage)
    {
        ArgumentNullException.ThrowIfNull(completionId);
        ArgumentNullException.ThrowIfNull(model);
        _completionId = JsonEncodedText.Encode(completionId);
        _model = JsonEncodedText.Encode(model);
        _created = created;
        _includeUsage = includeUsage;
    }

    /// <summary>Observes every translated event: usage, counts and stop reason of the upstream stream.</summary>
    public AnthropicStreamObserver Observer { get; } = new();

    /// <summary>
    /// What the gateway charges for the reported usage: written as <c>usage.cost</c> (USD) in the final usage chunk, as
    /// on a same-format stream; none when null.
    /// </summary>
    public Func<Purser.Usage.TokenUsage, Purser.Pricing.Money?>? CostOf { get; init; }

    /// <summary>Translates one upstream event into zero or more chunk frames.</summary>
    public void Translate(SseEvent ev, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var data = ev.Data.Span;
        var kind = Observer.Observe(ev.EventName.Span, data);
        if (_doneWritten)
        {
            return;
        }

        var e = Observer.LastEvent;
        switch (kind)
        {
            case AnthropicEventKind.MessageStart:
                WriteRoleChunk(output);
                break;
            case AnthropicEventKind.ContentBlockStart:
                StartBlock(e, data, output);
                break;
            case AnthropicEventKind.Delta:
                WriteDelta(e, data, output);
                break;
            case AnthropicEventKind.MessageDelta:
                if (e.StopReason is not null)
                {
                    var json = BeginChunk(output);
                    json.WriteEndObject();
                    EndChunk(json, FinishReasonOf(e.StopReason), output);
                }

                break;
            case AnthropicEventKind.MessageStop:
                WriteUsageChunk(output);
                break;
            case AnthropicEventKind.Error:
                WriteError(e, data, output);
                break;
            default:
                break;
        }
    }

    /// <summary>
    /// Ends the translated stream at upstream EOF (or when the caller gives up): writes the usage chunk if usage was
    /// reported but message_stop never came, then "data: [DONE]", once.
    /// </summary>
    public void Complete(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_doneWritten)
        {
            return;
        }

        WriteUsageChunk(output);
        output.Write(SseWriter.DoneFrame);
        _doneWritten = true;
    }

    private static JsonEncodedText FinishReasonOf(string stopReason) => stopReason switch
    {
        "max_tokens" or "model_context_window_exceeded" => Length,
        "tool_use" => ToolCalls,
        "refusal" => ContentFilter,
        _ => Stop,
    };

    private static void WriteRaw(Utf8JsonWriter json, ReadOnlySpan<byte> name, JsonStringToken token, ReadOnlySpan<byte> data)
    {
        json.WritePropertyName(name);
        if (token.IsPresent)
        {
            // The reader validated the token: it is a complete, escaped JSON string.
            json.WriteRawValue(token.Quoted(data), skipInputValidation: true);
        }
        else
        {
            json.WriteStringValue(""u8);
        }
    }

    private void WriteRoleChunk(IBufferWriter<byte> output)
    {
        var json = BeginChunk(output);
        json.WriteString("role"u8, "assistant"u8);
        json.WriteString("content"u8, ""u8);
        json.WriteEndObject();
        EndChunk(json, null, output);
    }

    private void StartBlock(AnthropicEvent e, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (e.Index < 0)
        {
            return;
        }

        while (_toolIndexByBlock.Count <= e.Index)
        {
            _toolIndexByBlock.Add(-1);
        }

        if (e.Block == AnthropicEvent.BlockKind.Text && e.BlockText.HasText)
        {
            WriteContent(e.BlockText, data, output);
            return;
        }

        if (e.Block != AnthropicEvent.BlockKind.ToolUse)
        {
            return;
        }

        var toolIndex = _toolCount++;
        _toolIndexByBlock[e.Index] = toolIndex;
        var json = BeginChunk(output);
        json.WriteStartArray("tool_calls"u8);
        json.WriteStartObject();
        json.WriteNumber("index"u8, toolIndex);
        WriteRaw(json, "id"u8, e.BlockId, data);
        json.WriteString("type"u8, "function"u8);
        json.WriteStartObject("function"u8);
        WriteRaw(json, "name"u8, e.BlockName, data);
        json.WriteString("arguments"u8, ""u8);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
        EndChunk(json, null, output);
    }

    private void WriteDelta(AnthropicEvent e, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (!e.DeltaText.HasText)
        {
            return;
        }

        if (e.Delta == AnthropicEvent.DeltaKind.Text)
        {
            WriteContent(e.DeltaText, data, output);
            return;
        }

        if (e.Delta != AnthropicEvent.DeltaKind.InputJson || e.Index < 0 || e.Index >= _toolIndexByBlock.Count
            || _toolIndexByBlock[e.Index] < 0)
        {
            return;
        }

        var json = BeginChunk(output);
        json.WriteStartArray("tool_calls"u8);
        json.WriteStartObject();
        json.WriteNumber("index"u8, _toolIndexByBlock[e.Index]);
        json.WriteStartObject("function"u8);
        WriteRaw(json, "arguments"u8, e.DeltaText, data);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
        EndChunk(json, null, output);
    }

    private void WriteContent(JsonStringToken text, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        var json = BeginChunk(output);
        WriteRaw(json, "content"u8, text, data);
        json.WriteEndObject();
        EndChunk(json, null, output);
    }

    private void WriteUsageChunk(IBufferWriter<byte> output)
    {
        if (!_includeUsage || _usageWritten || Observer.ReportedUsage is not { } usage)
        {
            return;
        }

        _usageWritten = true;
        var json = _frames.BeginData(output);
        WriteChunkHeader(json);
        json.WriteStartArray("choices"u8);
        json.WriteEndArray();
        json.WriteStartObject("usage"u8);
        json.WriteNumber("prompt_tokens"u8, usage.InputTokens);
        json.WriteNumber("completion_tokens"u8, usage.OutputTokens);
        json.WriteNumber("total_tokens"u8, usage.TotalTokens);
        json.WriteStartObject("prompt_tokens_details"u8);
        json.WriteNumber("cached_tokens"u8, usage.CachedInputTokens);
        json.WriteEndObject();
        if (CostOf?.Invoke(usage) is { } cost)
        {
            json.WriteNumber("cost"u8, cost.ToUsd());
        }

        json.WriteEndObject();
        json.WriteEndObject();
        _frames.End(output);
    }

    private void WriteError(AnthropicEvent e, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        var json = _frames.BeginData(output);
        json.WriteStartObject();
        json.WriteStartObject("error"u8);
        WriteRaw(json, "message"u8, e.ErrorMessage, data);
        WriteRaw(json, "type"u8, e.ErrorType, data);
        json.WriteEndObject();
        json.WriteEndObject();
        _frames.End(output);
    }

    // Opens a chunk up to and including the delta's StartObject; the caller writes the delta's properties.
    private Utf8JsonWriter BeginChunk(IBufferWriter<byte> output)
    {
        var json = _frames.BeginData(output);
        WriteChunkHeader(json);
        json.WriteStartArray("choices"u8);
        json.WriteStartObject();
        json.WriteNumber("index"u8, 0);
        json.WriteStartObject("delta"u8);
        return json;
    }

    // Closes a chunk after the delta's EndObject.
    private void EndChunk(Utf8JsonWriter json, JsonEncodedText? finishReason, IBufferWriter<byte> output)
    {
        json.WriteNull("logprobs"u8);
        if (finishReason is { } reason)
        {
            json.WriteString("finish_reason"u8, reason);
        }
        else
        {
            json.WriteNull("finish_reason"u8);
        }

        json.WriteEndObject();
        json.WriteEndArray();
        if (_includeUsage)
        {
            json.WriteNull("usage"u8);
        }

        json.WriteEndObject();
        _frames.End(output);
    }

    private void WriteChunkHeader(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("id"u8, _completionId);
        json.WriteString("object"u8, "chat.completion.chunk"u8);
        json.WriteNumber("created"u8, _created);
        json.WriteString("model"u8, _model);
    }
}
