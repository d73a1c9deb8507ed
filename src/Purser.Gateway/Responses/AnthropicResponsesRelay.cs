using System.IO.Pipelines;
using Purser.Gateway.Relay;
using Purser.Providers.Streaming;
using Purser.Usage;

namespace Purser.Gateway.Responses;

/// <summary>
/// An Anthropic Messages stream relayed to a Responses API caller: each upstream event translated as it arrives
/// (<see cref="AnthropicToResponsesStream"/>) and flushed by <see cref="StreamPump"/>; usage and counts come from the
/// translator's observer. A broken stream ends with the Responses API's <c>error</c> event.
/// </summary>
internal sealed class AnthropicResponsesRelay : IStreamRelay
{
    private readonly AnthropicToResponsesStream _translator;

    public AnthropicResponsesRelay(AnthropicToResponsesStream translator) => _translator = translator;

    public bool Ended => _translator.Observer.SawMessageStop || _translator.Observer.SawError;

    public TokenUsage? ReportedUsage => _translator.Observer.ReportedUsage;

    public TokenUsage? ReportedInput => _translator.Observer.ReportedInputTokens is null ? null : _translator.Observer.ReportedInput;

    public long CountedOutputTokens => _translator.Observer.CountedOutputTokens;

    public bool Relay(in SseEvent frame, PipeWriter output)
    {
        _translator.Translate(frame, output);
        return _translator.Observer.LastKind != AnthropicEventKind.Malformed;
    }

    public void Complete(PipeWriter output)
    {
        // message_stop was already translated into response.completed.
    }

    public bool WriteError(PipeWriter output, bool malformed)
    {
        ResponsesStreamRelay.WriteErrorEvent(output, malformed, _translator.NextSequence);
        return true;
    }
}
