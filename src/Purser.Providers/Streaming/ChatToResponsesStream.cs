using System.Buffers;

namespace Purser.Providers.Streaming;

/// <summary>
/// Turns a Chat Completions stream into OpenAI Responses API events, for a Responses caller of a model whose provider
/// has no Responses API: each chunk goes through the two translators the gateway already has, Chat → Messages
/// (<see cref="OpenAiToAnthropicStream"/>) then Messages → Responses (<see cref="AnthropicToResponsesStream"/>), so the
/// caller sees the same event sequence as for an Anthropic-backed model (<c>response.created</c> …
/// <c>response.completed</c> with usage). The intermediate events live in one reused buffer. Usage and counts are the
/// Chat stream's own (<see cref="Observer"/>). One instance per stream.
/// </summary>
public sealed class ChatToResponsesStream
{
    private readonly OpenAiToAnthropicStream _toMessages;
    private readonly AnthropicToResponsesStream _toResponses;
    private readonly ArrayBufferWriter<byte> _between = new(4096);

    public ChatToResponsesStream(string responseId, string model, long createdAt, int maxOutputTokens)
    {
        _toMessages = new OpenAiToAnthropicStream("msg_" + responseId, model);
        _toResponses = new AnthropicToResponsesStream(responseId, model, createdAt, maxOutputTokens);
    }

    /// <summary>Observes the upstream Chat stream: usage, counts, [DONE] and errors.</summary>
    public OpenAiStreamObserver Observer => _toMessages.Observer;

    /// <summary>The number of the next Responses event (the error event that ends a broken stream takes it).</summary>
    public int NextSequence => _toResponses.NextSequence;

    /// <summary>Translates the data of one upstream chunk into zero or more Responses events.</summary>
    public void Translate(ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        _between.ResetWrittenCount();
        _toMessages.Translate(data, _between);
        Forward(output);
    }

    /// <summary>Ends the stream at [DONE] or upstream end: the closing events through to <c>response.completed</c>.</summary>
    public void Complete(IBufferWriter<byte> output)
    {
        _between.ResetWrittenCount();
        _toMessages.Complete(_between);
        Forward(output);
    }

    // The intermediate frames are the JsonFrameWriter's own: "event: name\ndata: json\n\n", one data line each.
    private void Forward(IBufferWriter<byte> output)
    {
        var rest = _between.WrittenMemory;
        while (!rest.IsEmpty)
        {
            var end = rest.Span.IndexOf("\n\n"u8);
            var frame = end < 0 ? rest : rest[..end];
            rest = end < 0 ? ReadOnlyMemory<byte>.Empty : rest[(end + 2)..];
            ReadOnlyMemory<byte> name = default;
            ReadOnlyMemory<byte> data = default;
            while (!frame.IsEmpty)
            {
                var lineEnd = frame.Span.IndexOf((byte)'\n');
                var line = lineEnd < 0 ? frame : frame[..lineEnd];
                frame = lineEnd < 0 ? ReadOnlyMemory<byte>.Empty : frame[(lineEnd + 1)..];
                if (line.Span.StartsWith("event: "u8))
                {
                    name = line[7..];
                }
                else if (line.Span.StartsWith("data: "u8))
                {
                    data = line[6..];
                }
            }

            if (!data.IsEmpty)
            {
                _toResponses.Translate(new SseEvent(name, data, default), output);
            }
        }
    }
}
