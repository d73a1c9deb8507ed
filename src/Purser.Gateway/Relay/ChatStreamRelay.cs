using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Gateway.Wire;
using Purser.Pricing;
using Purser.Providers.Streaming;
using Purser.Usage;

namespace Purser.Gateway.Relay;

/// <summary>
/// A chat stream from a provider of either format to a caller of either format: passed through frame by frame when the
/// formats agree, translated when they differ (<see cref="AnthropicToOpenAiStream"/>, <see cref="OpenAiToAnthropicStream"/>).
/// </summary>
internal sealed class ChatStreamRelay : IStreamRelay
{
    private readonly OpenAiStreamObserver? _openAi;
    private readonly AnthropicStreamObserver? _anthropic;
    private readonly AnthropicToOpenAiStream? _toOpenAi;
    private readonly OpenAiToAnthropicStream? _toAnthropic;
    private readonly bool _callerWantsUsage;
    private readonly Func<TokenUsage, Money>? _costOf;

    private ChatStreamRelay(OpenAiStreamObserver? openAi, AnthropicStreamObserver? anthropic, AnthropicToOpenAiStream? toOpenAi, OpenAiToAnthropicStream? toAnthropic, bool callerWantsUsage, Func<TokenUsage, Money>? costOf)
    {
        _openAi = openAi;
        _anthropic = anthropic;
        _toOpenAi = toOpenAi;
        _toAnthropic = toAnthropic;
        _callerWantsUsage = callerWantsUsage;
        _costOf = costOf;
    }

    /// <summary>
    /// The relay for a caller of <paramref name="callerFormat"/> and a provider of <paramref name="upstreamFormat"/>.
    /// <paramref name="costOf"/> prices the reported usage for the caller's final usage chunk.
    /// </summary>
    public static ChatStreamRelay For(ApiFormat callerFormat, ApiFormat upstreamFormat, string requestId, string alias, long created, bool callerWantsUsage, Func<TokenUsage, Money>? costOf)
    {
        if (callerFormat == upstreamFormat)
        {
            return upstreamFormat == ApiFormat.OpenAI
                ? new ChatStreamRelay(new OpenAiStreamObserver(), null, null, null, callerWantsUsage, costOf)
                : new ChatStreamRelay(null, new AnthropicStreamObserver(), null, null, callerWantsUsage, costOf);
        }

        if (callerFormat == ApiFormat.OpenAI)
        {
            var toOpenAi = new AnthropicToOpenAiStream("chatcmpl-" + requestId, alias, created, callerWantsUsage)
            {
                CostOf = costOf is null ? null : usage => costOf(usage),
            };
            return new ChatStreamRelay(null, toOpenAi.Observer, toOpenAi, null, callerWantsUsage, costOf);
        }

        var toAnthropic = new OpenAiToAnthropicStream("msg_" + requestId, alias);
        return new ChatStreamRelay(toAnthropic.Observer, null, null, toAnthropic, callerWantsUsage, costOf);
    }

    public bool Ended => _openAi is not null ? _openAi.SawDone || _openAi.SawError : _anthropic!.SawMessageStop || _anthropic.SawError;

    public TokenUsage? ReportedUsage => _openAi?.ReportedUsage ?? _anthropic?.ReportedUsage;

    public long? ReportedInputTokens => _anthropic?.ReportedInputTokens;

    public long CountedOutputTokens => _openAi?.CountedOutputTokens ?? _anthropic!.CountedOutputTokens;

    public bool Relay(in SseEvent frame, PipeWriter output)
    {
        if (_toOpenAi is not null)
        {
            _toOpenAi.Translate(frame, output);
            return _anthropic!.LastKind != AnthropicEventKind.Malformed;
        }

        if (_toAnthropic is not null)
        {
            _toAnthropic.Translate(frame.Data.Span, output);
            return _openAi!.LastKind != OpenAiChunkKind.Malformed;
        }

        if (_anthropic is not null)
        {
            if (_anthropic.Observe(frame.EventName.Span, frame.Data.Span) == AnthropicEventKind.Malformed)
            {
                return false;
            }

            output.Write(frame.Raw.Span);
            return true;
        }

        var kind = _openAi!.Observe(frame.Data.Span);
        if (kind == OpenAiChunkKind.Malformed)
        {
            return false;
        }

        if (kind != OpenAiChunkKind.UsageOnly)
        {
            output.Write(frame.Raw.Span);
        }
        else if (_callerWantsUsage)
        {
            // The gateway asked for the usage chunk; a caller who asked too gets it, with what the request cost.
            WriteUsageChunkWithCost(output, frame.Data.Span, _openAi.ReportedUsage is { } usage && _costOf is not null ? _costOf(usage) : null);
        }

        return true;
    }

    public void Complete(PipeWriter output)
    {
        _toOpenAi?.Complete(output);
        _toAnthropic?.Complete(output);
    }

    /// <summary>
    /// The final usage chunk, as the provider sent it plus <c>usage.cost</c> in USD: the one place a streaming caller
    /// learns what the request cost, since its headers left before the cost was known.
    /// </summary>
    private static void WriteUsageChunkWithCost(PipeWriter writer, ReadOnlySpan<byte> data, Money? cost)
    {
        if (cost is not { } known || JsonNode.Parse(data) is not JsonObject chunk || chunk["usage"] is not JsonObject usage)
        {
            SseWriter.WriteData(writer, data);
            return;
        }

        usage["cost"] = known.ToUsd();
        SseWriter.WriteData(writer, JsonSerializer.SerializeToUtf8Bytes(chunk, GatewayJsonContext.Default.JsonObject));
    }
}
