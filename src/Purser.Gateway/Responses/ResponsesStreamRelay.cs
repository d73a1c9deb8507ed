using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using Purser.Gateway.Errors;
using Purser.Gateway.Relay;
using Purser.Gateway.Wire;
using Purser.Providers.Streaming;
using Purser.Usage;

namespace Purser.Gateway.Responses;

/// <summary>
/// An OpenAI Responses API stream passed through to the caller: every event as received, in order, flushed one by one
/// by <see cref="StreamPump"/>; the <see cref="ResponsesStreamObserver"/> learns the response id and the usage of
/// <c>response.completed</c> (or <c>response.incomplete</c> / <c>response.failed</c>) and counts the deltas for a cut
/// stream. A broken stream ends with the Responses API's own <c>error</c> event.
/// </summary>
internal sealed class ResponsesStreamRelay : IStreamRelay
{
    private long _lastSequence = -1;

    public ResponsesStreamObserver Observer { get; } = new();

    /// <summary>Called once, synchronously, when the response id is first seen (before its event is relayed).</summary>
    public Action<string>? OnResponseId { get; init; }

    public bool Ended => Observer.Ended;

    public TokenUsage? ReportedUsage => Observer.ReportedUsage;

    public TokenUsage? ReportedInput => null;

    public long CountedOutputTokens => Observer.CountedOutputTokens;

    public bool Relay(in SseEvent frame, PipeWriter output)
    {
        if (frame.Data.IsEmpty)
        {
            // A comment or keep-alive: passed on, nothing to learn.
            output.Write(frame.Raw.Span);
            return true;
        }

        var hadId = Observer.ResponseId is not null;
        if (!Observer.Observe(frame.Data.Span))
        {
            return false;
        }

        if (!hadId && Observer.ResponseId is { } id)
        {
            OnResponseId?.Invoke(id);
        }

        _lastSequence++;
        output.Write(frame.Raw.Span);
        return true;
    }

    public void Complete(PipeWriter output)
    {
        // The provider's terminal event was the last word: nothing to add.
    }

    public bool WriteError(PipeWriter output, bool malformed)
    {
        WriteErrorEvent(output, malformed, _lastSequence + 1);
        return true;
    }

    /// <summary>The Responses API's <c>error</c> event that ends a broken stream (for a passed-through or a translated stream).</summary>
    public static void WriteErrorEvent(PipeWriter output, bool malformed, long sequence)
    {
        var message = malformed
            ? "The provider sent a malformed stream; the gateway ended it."
            : "The provider's stream ended before it was complete; the gateway ended it.";
        using var body = new PooledBufferWriter(256);
        using (var w = new Utf8JsonWriter(body))
        {
            w.WriteStartObject();
            w.WriteString("type"u8, "error"u8);
            w.WriteString("code"u8, ErrorTable.Describe(GatewayErrorCode.UpstreamInvalidResponse).Code);
            w.WriteString("message"u8, message);
            w.WriteNull("param"u8);
            w.WriteNumber("sequence_number"u8, sequence);
            w.WriteEndObject();
        }

        SseWriter.WriteEvent(output, "error"u8, body.WrittenSpan);
    }
}
