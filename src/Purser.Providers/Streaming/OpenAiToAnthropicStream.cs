using System.Buffers;
using System.Text.Json;

namespace Purser.Providers.Streaming;

/// <summary>
/// Turns an OpenAI chat completion stream into Anthropic Messages events, chunk by chunk, for an Anthropic caller
/// of an OpenAI-backed model. Text and tool-argument fragments are copied verbatim (already-escaped JSON).
/// message_delta waits for the include_usage chunk (or the end of the stream) so that its usage is the reported one.
/// One instance per stream; not thread-safe.
/// </summary>
public sealed class OpenAiToAnthropicStream
{
    private static readonly JsonEncodedText EndTurn = JsonEncodedText.Encode("end_turn");
    private static readonly JsonEncodedText MaxTokens = JsonEncodedText.Encode("max_tokens");
    private static readonly JsonEncodedText ToolUse = JsonEncodedText.Encode("tool_use");
    private static readonly JsonEncodedText Refusal = JsonEncodedText.Encode("refusal");

    private readonly JsonEncodedText _messageId;
    private readonly JsonEncodedText _model;
    private readonly JsonFrameWriter _frames = new();
    private bool _started;
    private bool _finished;
    private OpenBlock _open;
    private int _openIndex = -1;
    private int _openToolCall = -1;
    private int _blockCount;

    public OpenAiToAnthropicStream(string messageId, string model)
    {
        ArgumentNullException.ThrowIfNull(messageId);
        ArgumentNullException.ThrowIfNull(model);
        _messageId = JsonEncodedText.Encode(messageId);
        _model = JsonEncodedText.Encode(model);
    }

    private enum OpenBlock
    {
        None = 0,
        Text = 1,
        ToolUse = 2,
    }

    /// <summary>Observes every translated chunk: usage, counts and finish reason of the upstream stream.</summary>
    public OpenAiStreamObserver Observer { get; } = new();

    /// <summary>Translates the data of one upstream SSE event into zero or more Anthropic events.</summary>
    public void Translate(ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var kind = Observer.Observe(data);
        if (_finished)
        {
            return;
        }

        switch (kind)
        {
            case OpenAiChunkKind.Done:
                Complete(output);
                break;
            case OpenAiChunkKind.Error:
                WriteError(Observer.LastChunk, data, output);
                break;
            case OpenAiChunkKind.Content:
            case OpenAiChunkKind.UsageOnly:
                TranslateChunk(kind, Observer.LastChunk, data, output);
                break;
            default:
                break;
        }
    }

    /// <summary>
    /// Ends the translated stream at [DONE] or upstream EOF: closes any open block, then writes message_delta (stop
    /// reason and usage; counted output when none was reported) and message_stop, once. After an error event the
    /// stream is already over and nothing more is written.
    /// </summary>
    public void Complete(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_finished)
        {
            return;
        }

        _finished = true;
        EnsureStarted(output);
        CloseBlock(output);

        var json = _frames.BeginEvent(output, "message_delta"u8);
        json.WriteStartObject();
        json.WriteString("type"u8, "message_delta"u8);
        json.WriteStartObject("delta"u8);
        if (Observer.FinishReason is { } finish)
        {
            json.WriteString("stop_reason"u8, StopReasonOf(finish));
        }
        else
        {
            // The stream was cut before the model finished: there is no honest stop reason to give.
            json.WriteNull("stop_reason"u8);
        }

        json.WriteNull("stop_sequence"u8);
        json.WriteEndObject();
        json.WriteStartObject("usage"u8);
        if (Observer.ReportedUsage is { } usage)
        {
            // Anthropic's input_tokens excludes cache reads; OpenAI's prompt_tokens includes them.
            json.WriteNumber("input_tokens"u8, usage.InputTokens - usage.CachedInputTokens);
            json.WriteNumber("cache_read_input_tokens"u8, usage.CachedInputTokens);
            json.WriteNumber("output_tokens"u8, usage.OutputTokens);
        }
        else
        {
            json.WriteNumber("input_tokens"u8, 0);
            json.WriteNumber("cache_read_input_tokens"u8, 0);
            json.WriteNumber("output_tokens"u8, Observer.CountedOutputTokens);
        }

        json.WriteEndObject();
        json.WriteEndObject();
        _frames.End(output);

        json = _frames.BeginEvent(output, "message_stop"u8);
        json.WriteStartObject();
        json.WriteString("type"u8, "message_stop"u8);
        json.WriteEndObject();
        _frames.End(output);
    }

    private static JsonEncodedText StopReasonOf(string finishReason) => finishReason switch
    {
        "length" => MaxTokens,
        "tool_calls" or "function_call" => ToolUse,
        "content_filter" => Refusal,
        _ => EndTurn,
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

    private void TranslateChunk(OpenAiChunkKind kind, OpenAiChunk chunk, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        EnsureStarted(output);
        if (chunk.Content.HasText)
        {
            WriteText(chunk.Content, data, output);
        }

        if (chunk.Refusal.HasText)
        {
            WriteText(chunk.Refusal, data, output);
        }

        var toolCalls = chunk.ToolCalls;
        for (var i = 0; i < toolCalls.Count; i++)
        {
            var call = toolCalls[i];
            if (_open != OpenBlock.ToolUse || call.Index != _openToolCall)
            {
                StartToolUse(call, data, output);
            }

            if (call.Arguments.HasText)
            {
                var json = BeginBlockDelta(output);
                json.WriteString("type"u8, "input_json_delta"u8);
                WriteRaw(json, "partial_json"u8, call.Arguments, data);
                EndBlockDelta(json, output);
            }
        }

        // Some OpenAI-compatible servers put usage on every chunk; only usage after the finish is final.
        if (chunk.HasUsage && (kind == OpenAiChunkKind.UsageOnly || Observer.FinishReason is not null))
        {
            Complete(output);
        }
    }

    private void EnsureStarted(IBufferWriter<byte> output)
    {
        if (_started)
        {
            return;
        }

        _started = true;
        var json = _frames.BeginEvent(output, "message_start"u8);
        json.WriteStartObject();
        json.WriteString("type"u8, "message_start"u8);
        json.WriteStartObject("message"u8);
        json.WriteString("id"u8, _messageId);
        json.WriteString("type"u8, "message"u8);
        json.WriteString("role"u8, "assistant"u8);
        json.WriteString("model"u8, _model);
        json.WriteStartArray("content"u8);
        json.WriteEndArray();
        json.WriteNull("stop_reason"u8);
        json.WriteNull("stop_sequence"u8);
        json.WriteStartObject("usage"u8);
        json.WriteNumber("input_tokens"u8, 0);
        json.WriteNumber("output_tokens"u8, 0);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
        _frames.End(output);
    }

    private void WriteText(JsonStringToken text, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (_open != OpenBlock.Text)
        {
            CloseBlock(output);
            var start = BeginBlockStart(output);
            start.WriteString("type"u8, "text"u8);
            start.WriteString("text"u8, ""u8);
            EndBlockStart(start, output);
            _open = OpenBlock.Text;
        }

        var json = BeginBlockDelta(output);
        json.WriteString("type"u8, "text_delta"u8);
        WriteRaw(json, "text"u8, text, data);
        EndBlockDelta(json, output);
    }

    private void StartToolUse(OpenAiToolCallDelta call, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        CloseBlock(output);
        var json = BeginBlockStart(output);
        json.WriteString("type"u8, "tool_use"u8);
        WriteRaw(json, "id"u8, call.Id, data);
        WriteRaw(json, "name"u8, call.Name, data);
        json.WriteStartObject("input"u8);
        json.WriteEndObject();
        EndBlockStart(json, output);
        _open = OpenBlock.ToolUse;
        _openToolCall = call.Index;
    }

    // Opens a content_block_start up to the content_block's StartObject (a new block index).
    private Utf8JsonWriter BeginBlockStart(IBufferWriter<byte> output)
    {
        _openIndex = _blockCount++;
        var json = _frames.BeginEvent(output, "content_block_start"u8);
        json.WriteStartObject();
        json.WriteString("type"u8, "content_block_start"u8);
        json.WriteNumber("index"u8, _openIndex);
        json.WriteStartObject("content_block"u8);
        return json;
    }

    private void EndBlockStart(Utf8JsonWriter json, IBufferWriter<byte> output)
    {
        json.WriteEndObject();
        json.WriteEndObject();
        _frames.End(output);
    }

    // Opens a content_block_delta of the open block up to the delta's StartObject.
    private Utf8JsonWriter BeginBlockDelta(IBufferWriter<byte> output)
    {
        var json = _frames.BeginEvent(output, "content_block_delta"u8);
        json.WriteStartObject();
        json.WriteString("type"u8, "content_block_delta"u8);
        json.WriteNumber("index"u8, _openIndex);
        json.WriteStartObject("delta"u8);
        return json;
    }

    private void EndBlockDelta(Utf8JsonWriter json, IBufferWriter<byte> output)
    {
        json.WriteEndObject();
        json.WriteEndObject();
        _frames.End(output);
    }

    private void CloseBlock(IBufferWriter<byte> output)
    {
        if (_open == OpenBlock.None)
        {
            return;
        }

        var json = _frames.BeginEvent(output, "content_block_stop"u8);
        json.WriteStartObject();
        json.WriteString("type"u8, "content_block_stop"u8);
        json.WriteNumber("index"u8, _openIndex);
        json.WriteEndObject();
        _frames.End(output);
        _open = OpenBlock.None;
        _openToolCall = -1;
    }

    private void WriteError(OpenAiChunk chunk, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        // An error event ends an Anthropic stream: nothing follows it, not even message_stop.
        _finished = true;
        var json = _frames.BeginEvent(output, "error"u8);
        json.WriteStartObject();
        json.WriteString("type"u8, "error"u8);
        json.WriteStartObject("error"u8);
        json.WritePropertyName("type"u8);
        if (chunk.ErrorType.IsPresent)
        {
            json.WriteRawValue(chunk.ErrorType.Quoted(data), skipInputValidation: true);
        }
        else
        {
            json.WriteStringValue("api_error"u8);
        }

        WriteRaw(json, "message"u8, chunk.ErrorMessage, data);
        json.WriteEndObject();
        json.WriteEndObject();
        _frames.End(output);
    }
}
