using System.IO.Pipelines;
using Purser.Providers.Streaming;
using Purser.Usage;

namespace Purser.Gateway.Relay;

/// <summary>
/// One direction of a stream, for <see cref="StreamPump"/>: what each upstream frame becomes for the caller, what the
/// upstream reported or what was counted, and whether the upstream's stream ended as its provider meant it to.
/// </summary>
internal interface IStreamRelay
{
    /// <summary>Relays one upstream frame into <paramref name="output"/>; false when the frame is malformed.</summary>
    bool Relay(in SseEvent frame, PipeWriter output);

    /// <summary>The upstream sent its terminal frame (or an error event of its own): the stream may end normally.</summary>
    bool Ended { get; }

    /// <summary>Writes the caller's normal ending (the translated stream's closing frames), once the upstream ended.</summary>
    void Complete(PipeWriter output);

    /// <summary>The usage the provider reported, when it did.</summary>
    TokenUsage? ReportedUsage { get; }

    /// <summary>The provider's own input count by class, when it sent one before the end (Anthropic's message_start).</summary>
    TokenUsage? ReportedInput { get; }

    /// <summary>Output tokens counted from what was relayed.</summary>
    long CountedOutputTokens { get; }

    /// <summary>
    /// Writes the error that ends a broken stream in the relay's own event shape; false leaves it to
    /// <see cref="StreamPump.WriteError"/> (the chat formats' error frame).
    /// </summary>
    bool WriteError(PipeWriter output, bool malformed) => false;
}
