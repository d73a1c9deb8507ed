using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Configuration;
using Purser.Gateway.Relay;
using Purser.Gateway.Routing;
using Purser.Pricing;
using Purser.Providers.Streaming;
using Purser.Usage;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Ensembles;

/// <summary>
/// Relays the judge's stream to a caller who asked for one, token by token, in the caller's format (translated by the
/// same stream translators as a direct call). The frames are renamed to the ensemble alias, and the usage the caller
/// sees at the end is the whole ensemble's: the panel's plus the judge's, with the total cost in OpenAI's usage chunk,
/// which is exactly what the usage record holds. The reservation already covers the judge's worst case, so nothing
/// has to be known before the first token is sent.
/// </summary>
internal sealed class JudgeStreamRelay : IStreamRelay
{
    private readonly OpenAiStreamObserver? _openAi;
    private readonly AnthropicStreamObserver? _anthropic;
    private readonly AnthropicToOpenAiStream? _toOpenAi;
    private readonly OpenAiToAnthropicStream? _toAnthropic;
    private readonly ApiFormat _callerFormat;
    private readonly bool _includeUsage;
    private readonly string _completionId;
    private readonly string _alias;
    private readonly long _created;
    private readonly TokenUsage _panelUsage;
    private readonly Money _panelCost;
    private readonly long _judgeInputBound;
    private readonly ModelPrice _price;

    private JudgeStreamRelay(ResolvedModelInfo judge, ApiFormat callerFormat, bool includeUsage, string requestId, string alias, long created, TokenUsage panelUsage, Money panelCost, long judgeInputBound)
    {
        _callerFormat = callerFormat;
        _includeUsage = includeUsage;
        _alias = alias;
        _created = created;
        _panelUsage = panelUsage;
        _panelCost = panelCost;
        _judgeInputBound = judgeInputBound;
        _price = judge.Price;
        _completionId = "chatcmpl-" + requestId;

        // Each upstream frame is observed as it came (the judge's own usage), then adapted to the caller.
        _openAi = judge.Anthropic ? null : new OpenAiStreamObserver();
        _anthropic = judge.Anthropic ? new AnthropicStreamObserver() : null;
        _toOpenAi = judge.Anthropic && callerFormat == ApiFormat.OpenAI ? new AnthropicToOpenAiStream(_completionId, alias, created, includeUsage: false) : null;
        _toAnthropic = !judge.Anthropic && callerFormat == ApiFormat.Anthropic ? new OpenAiToAnthropicStream("msg_" + requestId, alias) : null;
    }

    /// <summary>What the judge used (reported, else counted), and how the stream ended.</summary>
    public readonly record struct Outcome(TokenUsage JudgeUsage, UsageSource Source, bool ClientGone, string? ErrorCode);

    private readonly record struct ResolvedModelInfo(bool Anthropic, ModelPrice Price);

    public bool Ended => !Malformed && (_anthropic is not null ? _anthropic.SawMessageStop || _anthropic.SawError : _openAi!.SawDone || _openAi.SawError);

    public TokenUsage? ReportedUsage => _anthropic is not null ? _anthropic.ReportedUsage : _openAi!.ReportedUsage;

    public long? ReportedInputTokens => _anthropic?.ReportedInputTokens;

    public long CountedOutputTokens => _anthropic?.CountedOutputTokens ?? _openAi!.CountedOutputTokens;

    private bool Malformed { get; set; }

    /// <summary>The judge's own usage: reported, else its input bound (or Anthropic's count) and the counted output.</summary>
    private TokenUsage JudgeUsage => ReportedUsage ?? new TokenUsage(ReportedInputTokens ?? _judgeInputBound, CountedOutputTokens);

    public static async Task<Outcome> RelayAsync(HttpContext context, StreamedCall judge, ApiFormat callerFormat, bool includeUsage, string requestId, string alias, long created,
        TokenUsage panelUsage, Money panelCost, long judgeInputBound)
    {
        var model = judge.Model!;
        var relay = new JudgeStreamRelay(new ResolvedModelInfo(model.Upstream.Kind == ProviderKind.Anthropic, model.Model.Price ?? ModelPrice.Free),
            callerFormat, includeUsage, requestId, alias, created, panelUsage, panelCost, judgeInputBound);
        var end = await StreamPump.PumpAsync(context, judge.Response!, relay, callerFormat, judge.Token).ConfigureAwait(false);
        var clientGone = end.ClientGone || context.RequestAborted.IsCancellationRequested;
        var reported = relay.ReportedUsage;
        var ended = reported is null ? (end.Malformed ? "upstream_malformed_stream" : "upstream_stream_cut") : end.ErrorCode;
        return new Outcome(relay.JudgeUsage, reported is null ? UsageSource.Counted : UsageSource.Reported, clientGone, clientGone ? "client_closed" : ended);
    }

    public bool Relay(in SseEvent frame, PipeWriter output)
    {
        if (_anthropic is not null)
        {
            var kind = _anthropic.Observe(frame.EventName.Span, frame.Data.Span);
            if (kind == AnthropicEventKind.Malformed)
            {
                Malformed = true;
                return false;
            }

            if (_toOpenAi is not null)
            {
                _toOpenAi.Translate(frame, output);
            }
            else
            {
                WriteAnthropic(output, kind, frame, _completionId, _alias, _panelUsage);
            }

            return true;
        }

        var chunk = _openAi!.Observe(frame.Data.Span);
        if (chunk == OpenAiChunkKind.Malformed)
        {
            Malformed = true;
            return false;
        }

        if (_toAnthropic is not null)
        {
            // The usage chunk is given the panel's tokens too, so message_delta reports the whole ensemble.
            _toAnthropic.Translate(chunk == OpenAiChunkKind.UsageOnly ? WithPanelUsage(frame.Data.Span, _panelUsage) : frame.Data.Span, output);
        }
        else if (chunk is OpenAiChunkKind.Content or OpenAiChunkKind.Error)
        {
            SseWriter.WriteData(output, chunk == OpenAiChunkKind.Content ? Renamed(frame.Data.Span, _completionId, _alias) : frame.Data.ToArray());
        }

        return true;
    }

    public void Complete(PipeWriter output)
    {
        if (_callerFormat == ApiFormat.OpenAI)
        {
            if (_includeUsage)
            {
                WriteUsageChunk(output, _completionId, _alias, _created, _panelUsage + JudgeUsage, _panelCost + _price.Cost(JudgeUsage));
            }

            if (_toOpenAi is not null)
            {
                _toOpenAi.Complete(output);
            }
            else
            {
                output.Write(SseWriter.DoneFrame);
            }
        }
        else
        {
            _toAnthropic?.Complete(output);
        }
    }

    /// <summary>An OpenAI chunk under the ensemble's id and alias, not the judge model's.</summary>
    private static byte[] Renamed(ReadOnlySpan<byte> data, string completionId, string alias)
    {
        if (JsonNode.Parse(data) is not JsonObject chunk)
        {
            return data.ToArray();
        }

        chunk["id"] = completionId;
        chunk["model"] = alias;
        return JsonSerializer.SerializeToUtf8Bytes(chunk, GatewayJsonContext.Default.JsonObject);
    }

    private static ReadOnlySpan<byte> WithPanelUsage(ReadOnlySpan<byte> data, TokenUsage panel)
    {
        if (JsonNode.Parse(data) is not JsonObject chunk || chunk["usage"] is not JsonObject usage)
        {
            return data;
        }

        Add(usage, "prompt_tokens", panel.InputTokens);
        Add(usage, "completion_tokens", panel.OutputTokens);
        Add(usage, "total_tokens", panel.TotalTokens);
        return JsonSerializer.SerializeToUtf8Bytes(chunk, GatewayJsonContext.Default.JsonObject);
    }

    /// <summary>Anthropic to an Anthropic caller: frames as they came, but message_start and message_delta renamed and carrying the panel's usage too.</summary>
    private static void WriteAnthropic(PipeWriter writer, AnthropicEventKind kind, SseEvent frame, string completionId, string alias, TokenUsage panel)
    {
        if (kind is not (AnthropicEventKind.MessageStart or AnthropicEventKind.MessageDelta) || JsonNode.Parse(frame.Data.Span) is not JsonObject data)
        {
            writer.Write(frame.Raw.Span);
            return;
        }

        if (kind == AnthropicEventKind.MessageStart && data["message"] is JsonObject message)
        {
            message["id"] = "msg_" + completionId["chatcmpl-".Length..];
            message["model"] = alias;
            if (message["usage"] is JsonObject startUsage)
            {
                Add(startUsage, "input_tokens", panel.InputTokens);
            }
        }
        else if (data["usage"] is JsonObject usage)
        {
            // message_delta carries the output, and with newer APIs the input again: both become the ensemble's.
            Add(usage, "input_tokens", panel.InputTokens);
            Add(usage, "output_tokens", panel.OutputTokens);
        }

        SseWriter.WriteEvent(writer, frame.EventName.Span, JsonSerializer.SerializeToUtf8Bytes(data, GatewayJsonContext.Default.JsonObject));
    }

    private static void WriteUsageChunk(PipeWriter writer, string completionId, string alias, long created, TokenUsage total, Money cost)
    {
        var chunk = new JsonObject
        {
            ["id"] = completionId,
            ["object"] = "chat.completion.chunk",
            ["created"] = created,
            ["model"] = alias,
            ["choices"] = new JsonArray(),
            ["usage"] = new JsonObject
            {
                ["prompt_tokens"] = total.InputTokens,
                ["completion_tokens"] = total.OutputTokens,
                ["total_tokens"] = total.TotalTokens,
                ["cost"] = cost.ToUsd(),
            },
        };
        SseWriter.WriteData(writer, JsonSerializer.SerializeToUtf8Bytes(chunk, GatewayJsonContext.Default.JsonObject));
    }

    private static void Add(JsonObject usage, string field, long tokens)
    {
        if (usage[field] is JsonValue value && value.TryGetValue<long>(out var existing))
        {
            usage[field] = existing + tokens;
        }
    }
}
