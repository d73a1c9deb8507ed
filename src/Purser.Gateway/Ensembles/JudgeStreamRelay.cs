using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using Purser.Configuration;
using Purser.Gateway.Errors;
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
internal static class JudgeStreamRelay
{
    /// <summary>What the judge used (reported, else counted), and how the stream ended.</summary>
    public readonly record struct Outcome(TokenUsage JudgeUsage, UsageSource Source, bool ClientGone, string? ErrorCode);

    public static async Task<Outcome> RelayAsync(HttpContext context, StreamedCall judge, ApiFormat callerFormat, bool includeUsage, string requestId, string alias, long created,
        TokenUsage panelUsage, Money panelCost, long judgeInputBound)
    {
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var writer = response.BodyWriter;
        var model = judge.Model!;
        var price = model.Model.Price ?? ModelPrice.Free;
        var upstreamAnthropic = model.Upstream.Kind == ProviderKind.Anthropic;
        var completionId = "chatcmpl-" + requestId;

        // Each upstream frame is observed as it came (the judge's own usage), then adapted to the caller.
        var openAi = upstreamAnthropic ? null : new OpenAiStreamObserver();
        var anthropic = upstreamAnthropic ? new AnthropicStreamObserver() : null;
        var toOpenAi = upstreamAnthropic && callerFormat == ApiFormat.OpenAI ? new AnthropicToOpenAiStream(completionId, alias, created, includeUsage: false) : null;
        var toAnthropic = !upstreamAnthropic && callerFormat == ApiFormat.Anthropic ? new OpenAiToAnthropicStream("msg_" + requestId, alias) : null;
        var clientGone = false;
        var malformed = false;
        try
        {
            await response.StartAsync(judge.Token).ConfigureAwait(false);
            var upstreamStream = await judge.Response!.Content.ReadAsStreamAsync(judge.Token).ConfigureAwait(false);
            await using var reader = new SseReader(upstreamStream);
            while (await reader.ReadAsync(judge.Token).ConfigureAwait(false))
            {
                var frame = reader.Current;
                if (anthropic is not null)
                {
                    var kind = anthropic.Observe(frame.EventName.Span, frame.Data.Span);
                    if (kind == AnthropicEventKind.Malformed)
                    {
                        malformed = true;
                        break;
                    }

                    if (toOpenAi is not null)
                    {
                        toOpenAi.Translate(frame, writer);
                    }
                    else
                    {
                        WriteAnthropic(writer, kind, frame, completionId, alias, panelUsage);
                    }
                }
                else
                {
                    var kind = openAi!.Observe(frame.Data.Span);
                    if (kind == OpenAiChunkKind.Malformed)
                    {
                        malformed = true;
                        break;
                    }

                    if (toAnthropic is not null)
                    {
                        // The usage chunk is given the panel's tokens too, so message_delta reports the whole ensemble.
                        toAnthropic.Translate(kind == OpenAiChunkKind.UsageOnly ? WithPanelUsage(frame.Data.Span, panelUsage) : frame.Data.Span, writer);
                    }
                    else if (kind is OpenAiChunkKind.Content or OpenAiChunkKind.Error)
                    {
                        SseWriter.WriteData(writer, kind == OpenAiChunkKind.Content ? Renamed(frame.Data.Span, completionId, alias) : frame.Data.ToArray());
                    }
                }

                var flushed = await writer.FlushAsync(judge.Token).ConfigureAwait(false);
                if (flushed.IsCanceled || flushed.IsCompleted)
                {
                    clientGone = true;
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            clientGone = true;
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException or InvalidDataException)
        {
            // The judge's upstream cut the stream or timed out: settle from what was counted.
            malformed = ex is InvalidDataException;
        }

        clientGone |= context.RequestAborted.IsCancellationRequested;
        var reported = upstreamAnthropic ? anthropic!.ReportedUsage : openAi!.ReportedUsage;
        var judgeUsage = reported ?? (upstreamAnthropic
            ? new TokenUsage(anthropic!.ReportedInputTokens ?? judgeInputBound, anthropic.CountedOutputTokens)
            : new TokenUsage(judgeInputBound, openAi!.CountedOutputTokens));

        // Whether the judge's stream ended as its provider meant it to; a cut one never gets a normal ending.
        var complete = !malformed && (upstreamAnthropic ? anthropic!.SawMessageStop || anthropic.SawError : openAi!.SawDone || openAi.SawError);
        if (!clientGone)
        {
            try
            {
                if (!complete)
                {
                    var error = ErrorWriter.Render(new GatewayError(GatewayErrorCode.UpstreamInvalidResponse, "The judge's stream ended before it was complete; the gateway ended it."), callerFormat);
                    if (callerFormat == ApiFormat.Anthropic)
                    {
                        SseWriter.WriteEvent(writer, "error"u8, error);
                    }
                    else
                    {
                        SseWriter.WriteData(writer, error);
                    }
                }
                else if (callerFormat == ApiFormat.OpenAI)
                {
                    if (includeUsage)
                    {
                        WriteUsageChunk(writer, completionId, alias, created, panelUsage + judgeUsage, panelCost + price.Cost(judgeUsage));
                    }

                    if (toOpenAi is not null)
                    {
                        toOpenAi.Complete(writer);
                    }
                    else
                    {
                        writer.Write(SseWriter.DoneFrame);
                    }
                }
                else
                {
                    toAnthropic?.Complete(writer);
                }

                await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException)
            {
                clientGone = true;
            }
        }

        var ended = reported is null ? (malformed ? "upstream_malformed_stream" : "upstream_stream_cut") : null;
        return new Outcome(judgeUsage, reported is null ? UsageSource.Counted : UsageSource.Reported, clientGone, clientGone ? "client_closed" : ended);
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
