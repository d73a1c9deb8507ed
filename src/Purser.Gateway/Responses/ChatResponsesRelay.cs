using System.IO.Pipelines;
using Purser.Gateway.Relay;
using Purser.Providers.Streaming;
using Purser.Usage;

namespace Purser.Gateway.Responses;

/// <summary>
/// A Chat Completions stream relayed to a Responses API caller of a chat-only provider: each chunk translated as it
/// arrives (<see cref="ChatToResponsesStream"/>) and flushed by <see cref="StreamPump"/>; usage and counts come from
/// the Chat stream's observer. A broken stream ends with the Responses API's <c>error</c> event.
/// </summary>
internal sealed class ChatResponsesRelay : IStreamRelay
{
    private readonly ChatToResponsesStream _translator;

    public ChatResponsesRelay(ChatToResponsesStream translator) => _translator = translator;

    public bool Ended => _translator.Observer.SawDone || _translator.Observer.SawError;

    public TokenUsage? ReportedUsage => _translator.Observer.ReportedUsage;

    public TokenUsage? ReportedInput => null;

    public long CountedOutputTokens => _translator.Observer.CountedOutputTokens;

    public bool Relay(in SseEvent frame, PipeWriter output)
    {
        _translator.Translate(frame.Data.Span, output);
        return _translator.Observer.LastKind != OpenAiChunkKind.Malformed;
    }

    public void Complete(PipeWriter output) => _translator.Complete(output);

    public bool WriteError(PipeWriter output, bool malformed)
    {
        ResponsesStreamRelay.WriteErrorEvent(output, malformed, _translator.NextSequence);
        return true;
    }
}
