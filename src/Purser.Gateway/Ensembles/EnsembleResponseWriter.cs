using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using Purser.Pricing;
using Purser.Providers.Streaming;
using Purser.Providers.Translation;
using Purser.Usage;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Ensembles;

/// <summary>
/// Writes a buffered answer an ensemble or route settled on, in the caller's format: one JSON body, or — when the
/// caller asked for a stream — the same answer as SSE frames. A judge's answer to a streaming caller does not come
/// here: it is relayed token by token by <see cref="JudgeStreamRelay"/>. What does is a route's or degrade target's
/// answer, and the best panel answer when the judge was skipped or failed to open.
/// </summary>
internal static class EnsembleResponseWriter
{
    /// <summary>The served chat.completion, renamed to the caller's alias and carrying the usage of every sub-call.</summary>
    public static JsonObject Finalize(JsonObject served, string alias, string requestId, TokenUsage usage)
    {
        var response = (JsonObject)served.DeepClone();
        response["id"] = "chatcmpl-" + requestId;
        response["model"] = alias;
        response["usage"] = new JsonObject
        {
            ["prompt_tokens"] = usage.InputTokens,
            ["completion_tokens"] = usage.OutputTokens,
            ["total_tokens"] = usage.TotalTokens,
        };
        return response;
    }

    public static async Task WriteAsync(HttpContext context, JsonObject openAi, string alias, ApiFormat callerFormat, bool stream, bool includeUsage, Money cost)
    {
        var response = context.Response;
        response.StatusCode = 200;
        if (!stream)
        {
            var body = callerFormat == ApiFormat.Anthropic ? AnthropicToOpenAi.TranslateResponse(openAi, alias) : openAi;
            var bytes = JsonSerializer.SerializeToUtf8Bytes(body, GatewayJsonContext.Default.JsonObject);
            response.ContentType = "application/json";
            response.ContentLength = bytes.Length;
            await response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var writer = response.BodyWriter;
        if (callerFormat == ApiFormat.Anthropic)
        {
            WriteAnthropicEvents(writer, AnthropicToOpenAi.TranslateResponse(openAi, alias));
        }
        else
        {
            WriteOpenAiChunks(writer, openAi, includeUsage, cost);
        }

        await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    private static void WriteOpenAiChunks(System.IO.Pipelines.PipeWriter writer, JsonObject openAi, bool includeUsage, Money cost)
    {
        var message = openAi["choices"] is JsonArray { Count: > 0 } choices ? choices[0]?["message"] as JsonObject : null;
        var delta = message is null ? new JsonObject() : (JsonObject)message.DeepClone();
        var finish = Ensembles.JudgeRequest.FinishReason(openAi) ?? "stop";
        WriteChunk(writer, openAi, new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = null }), null);
        WriteChunk(writer, openAi, new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = new JsonObject(), ["finish_reason"] = finish }), null);
        if (includeUsage && openAi["usage"] is JsonObject usage)
        {
            var withCost = (JsonObject)usage.DeepClone();
            withCost["cost"] = cost.ToUsd();
            WriteChunk(writer, openAi, [], withCost);
        }

        writer.Write(SseWriter.DoneFrame);
    }

    private static void WriteChunk(System.IO.Pipelines.PipeWriter writer, JsonObject openAi, JsonArray choices, JsonObject? usage)
    {
        var chunk = new JsonObject
        {
            ["id"] = openAi["id"]?.DeepClone(),
            ["object"] = "chat.completion.chunk",
            ["created"] = openAi["created"]?.DeepClone(),
            ["model"] = openAi["model"]?.DeepClone(),
            ["choices"] = choices,
        };
        if (usage is not null)
        {
            chunk["usage"] = usage;
        }

        SseWriter.WriteData(writer, JsonSerializer.SerializeToUtf8Bytes(chunk, GatewayJsonContext.Default.JsonObject));
    }

    private static void WriteAnthropicEvents(System.IO.Pipelines.PipeWriter writer, JsonObject message)
    {
        var usage = message["usage"] as JsonObject;
        var start = (JsonObject)message.DeepClone();
        start["content"] = new JsonArray();
        start["stop_reason"] = null;
        start["usage"] = new JsonObject { ["input_tokens"] = usage?["input_tokens"]?.DeepClone(), ["output_tokens"] = 0 };
        Event(writer, "message_start"u8, new JsonObject { ["type"] = "message_start", ["message"] = start });
        var index = 0;
        if (message["content"] is JsonArray blocks)
        {
            foreach (var block in blocks)
            {
                if (block?["type"] is not JsonValue type || type.GetValue<string>() != "text")
                {
                    continue;
                }

                Event(writer, "content_block_start"u8, new JsonObject { ["type"] = "content_block_start", ["index"] = index, ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = "" } });
                Event(writer, "content_block_delta"u8, new JsonObject { ["type"] = "content_block_delta", ["index"] = index, ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = block["text"]?.DeepClone() } });
                Event(writer, "content_block_stop"u8, new JsonObject { ["type"] = "content_block_stop", ["index"] = index });
                index++;
            }
        }

        Event(writer, "message_delta"u8, new JsonObject
        {
            ["type"] = "message_delta",
            ["delta"] = new JsonObject { ["stop_reason"] = message["stop_reason"]?.DeepClone(), ["stop_sequence"] = null },
            ["usage"] = new JsonObject { ["output_tokens"] = usage?["output_tokens"]?.DeepClone() },
        });
        Event(writer, "message_stop"u8, new JsonObject { ["type"] = "message_stop" });
    }

    private static void Event(System.IO.Pipelines.PipeWriter writer, ReadOnlySpan<byte> name, JsonObject data) =>
        SseWriter.WriteEvent(writer, name, JsonSerializer.SerializeToUtf8Bytes(data, GatewayJsonContext.Default.JsonObject));
}
