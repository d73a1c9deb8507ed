using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Purser.SimulatedProvider.Common;

namespace Purser.SimulatedProvider.OpenAi;

/// <summary><c>POST /v1/chat/completions</c>, streaming and not, in OpenAI's exact wire shapes.</summary>
internal sealed class ChatCompletionsHandler
{
    private static readonly byte[] MalformedJsonBody = "{\"id\":\"chatcmpl-broken\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,<html>"u8.ToArray();
    private static readonly byte[] MalformedSseFrame = "data: {not json\n\n"u8.ToArray();

    private readonly SimContext sim;

    public ChatCompletionsHandler(SimContext sim)
    {
        this.sim = sim;
    }

    public async Task HandleAsync(HttpContext context)
    {
        using JsonDocument? document = await OpenAiOpening.OpenAsync(context, sim).ConfigureAwait(false);
        if (document is null)
        {
            return;
        }

        if (!ChatRequest.TryRead(document.RootElement, out ChatRequest request, out string error, out string? param, AzureRoute.Deployment(context)))
        {
            await OpenAiErrors.InvalidRequestAsync(context, error, param).ConfigureAwait(false);
            return;
        }

        if (!SimOptionsParser.TryParse(request.Model, context.Request.Headers, out SimOptions options, out error))
        {
            await OpenAiErrors.InvalidRequestAsync(context, error, "model").ConfigureAwait(false);
            return;
        }

        if (ContextWindows.Of(request.Model, context1M: false) is { } window && request.InputTokens > window)
        {
            await OpenAiErrors.WriteAsync(context, StatusCodes.Status400BadRequest, string.Create(CultureInfo.InvariantCulture, $"This model's maximum context length is {window} tokens. However, your messages resulted in {request.InputTokens} tokens. Please reduce the length of the messages."), "invalid_request_error", "messages", "context_length_exceeded").ConfigureAwait(false);
            return;
        }

        if (await EarlyFailures.PlayAsync(context, sim, options, MalformedJsonBody, OpenAiErrors.SimulatedFailureAsync).ConfigureAwait(false))
        {
            return;
        }

        var reply = new Reply(request, options, sim);
        if ((request.Stream && options.Fail != FailMode.JsonStream) || options.Fail is FailMode.MalformedSse or FailMode.Cut)
        {
            await StreamAsync(context, request, options, reply).ConfigureAwait(false);
        }
        else
        {
            await CompleteAsync(context, request, reply, options.Fail).ConfigureAwait(false);
        }
    }

    private static string FinishReason(FinishKind kind) => kind == FinishKind.Length ? "length" : "stop";

    private async Task CompleteAsync(HttpContext context, ChatRequest request, Reply reply, FailMode fail)
    {
        using var body = new PooledBufferWriter(1024 + ((reply.Text?.Text.Length ?? 0) * request.N));
        Utf8JsonWriter w = JsonWriterCache.Rent(body);
        w.WriteStartObject();
        w.WriteString("id"u8, reply.Id);
        w.WriteString("object"u8, "chat.completion"u8);
        w.WriteNumber("created"u8, reply.Created);
        w.WriteString("model"u8, request.Model);
        w.WriteStartArray("choices"u8);
        for (int i = 0; i < request.N; i++)
        {
            w.WriteStartObject();
            w.WriteNumber("index"u8, i);
            w.WriteStartObject("message"u8);
            w.WriteString("role"u8, "assistant"u8);
            if (reply.Tool is ToolCallPlan tool)
            {
                w.WriteNull("content"u8);
                w.WriteStartArray("tool_calls"u8);
                w.WriteStartObject();
                w.WriteString("id"u8, sim.Ids.Next("call_"));
                w.WriteString("type"u8, "function"u8);
                w.WriteStartObject("function"u8);
                w.WriteString("name"u8, tool.Name);
                w.WriteString("arguments"u8, tool.Arguments);
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndArray();
            }
            else
            {
                w.WriteString("content"u8, reply.Text!.Text);
            }

            w.WriteNull("refusal"u8);
            w.WriteStartArray("annotations"u8);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteNull("logprobs"u8);
            w.WriteString("finish_reason"u8, reply.FinishReason);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (fail != FailMode.NoUsage)
        {
            WriteUsage(w, reply, fail == FailMode.HugeUsage);
        }

        w.WriteString("service_tier"u8, request.ServiceTier);
        w.WriteString("system_fingerprint"u8, "fp_sim"u8);
        w.WriteEndObject();
        JsonWriterCache.Return(w);
        if (fail == FailMode.Oversize)
        {
            // JSON may start with any amount of whitespace: 65 MiB of it, then the body, so only the size is wrong.
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = ResponseWriter.Json;
            var spaces = new byte[1 << 20];
            Array.Fill(spaces, (byte)' ');
            for (int i = 0; i < 65; i++)
            {
                await context.Response.Body.WriteAsync(spaces, context.RequestAborted).ConfigureAwait(false);
            }

            await context.Response.Body.WriteAsync(body.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        if (fail == FailMode.CutBody)
        {
            // Promise the whole body, send half, and cut the connection: a 200 that breaks after its headers.
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = ResponseWriter.Json;
            context.Response.ContentLength = body.WrittenCount;
            await context.Response.Body.WriteAsync(body.WrittenMemory[..(body.WrittenCount / 2)], context.RequestAborted).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            context.Abort();
            return;
        }

        await ResponseWriter.SendAsync(context, StatusCodes.Status200OK, body).ConfigureAwait(false);
    }

    private async Task StreamAsync(HttpContext context, ChatRequest request, SimOptions options, Reply reply)
    {
        CancellationToken ct = context.RequestAborted;
        PipeWriter pipe = ResponseWriter.StartStream(context, options.Fail == FailMode.Cut);
        bool usageField = request.IncludeUsage;

        for (int i = 0; i < request.N; i++)
        {
            Utf8JsonWriter w = BeginChunk(pipe, reply, request, i);
            w.WriteString("role"u8, "assistant"u8);
            if (reply.Tool is null)
            {
                w.WriteString("content"u8, string.Empty);
            }
            else
            {
                w.WriteNull("content"u8);
            }

            w.WriteNull("refusal"u8);
            EndChunk(pipe, w, null, usageField);
        }

        if (!await ResponseWriter.FlushAsync(pipe, ct).ConfigureAwait(false))
        {
            return;
        }

        if (options.Fail == FailMode.MalformedSse)
        {
            pipe.Write(MalformedSseFrame);
            pipe.Write(MalformedSseFrame);
            await ResponseWriter.FlushAsync(pipe, ct).ConfigureAwait(false);
            return;
        }

        await sim.DelayAsync(options.TtftMs, ct).ConfigureAwait(false);
        var pacer = new StreamPacer(sim, options.TokensPerSecond);
        int chunk = options.Chunk;
        int frames = 0;
        bool cut = options.Fail == FailMode.Cut;

        if (reply.Tool is ToolCallPlan tool)
        {
            string[] callIds = new string[request.N];
            for (int i = 0; i < request.N; i++)
            {
                callIds[i] = sim.Ids.Next("call_");
                Utf8JsonWriter w = BeginChunk(pipe, reply, request, i);
                w.WriteStartArray("tool_calls"u8);
                w.WriteStartObject();
                w.WriteNumber("index"u8, 0);
                w.WriteString("id"u8, callIds[i]);
                w.WriteString("type"u8, "function"u8);
                w.WriteStartObject("function"u8);
                w.WriteString("name"u8, tool.Name);
                w.WriteString("arguments"u8, string.Empty);
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndArray();
                EndChunk(pipe, w, null, usageField);
                if (cut && ++frames >= options.CutAfter)
                {
                    await ResponseWriter.EndCutAsync(context, pipe, ct).ConfigureAwait(false);
                    return;
                }
            }

            if (!await ResponseWriter.FlushAsync(pipe, ct).ConfigureAwait(false))
            {
                return;
            }

            int fragments = tool.FragmentCount(chunk);
            for (int f = 0; f < fragments; f++)
            {
                await pacer.WaitForTokenAsync((long)f * chunk, ct).ConfigureAwait(false);
                for (int i = 0; i < request.N; i++)
                {
                    Utf8JsonWriter w = BeginChunk(pipe, reply, request, i);
                    w.WriteStartArray("tool_calls"u8);
                    w.WriteStartObject();
                    w.WriteNumber("index"u8, 0);
                    w.WriteStartObject("function"u8);
                    w.WriteString("arguments"u8, tool.Fragment(f, chunk));
                    w.WriteEndObject();
                    w.WriteEndObject();
                    w.WriteEndArray();
                    EndChunk(pipe, w, null, usageField);
                    if (cut && ++frames >= options.CutAfter)
                    {
                        await ResponseWriter.EndCutAsync(context, pipe, ct).ConfigureAwait(false);
                        return;
                    }
                }

                if (!await ResponseWriter.FlushAsync(pipe, ct).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        else
        {
            TextPlan text = reply.Text!;
            int tokens = text.Tokens;
            for (int t = 0; t < tokens; t += chunk)
            {
                await pacer.WaitForTokenAsync(t, ct).ConfigureAwait(false);
                for (int i = 0; i < request.N; i++)
                {
                    Utf8JsonWriter w = BeginChunk(pipe, reply, request, i);
                    w.WriteString("content"u8, text.Slice(t, chunk));
                    EndChunk(pipe, w, null, usageField);
                    if (cut && ++frames >= options.CutAfter)
                    {
                        await ResponseWriter.EndCutAsync(context, pipe, ct).ConfigureAwait(false);
                        return;
                    }
                }

                if (!await ResponseWriter.FlushAsync(pipe, ct).ConfigureAwait(false))
                {
                    return;
                }
            }
        }

        if (cut)
        {
            await ResponseWriter.EndCutAsync(context, pipe, ct).ConfigureAwait(false);
            return;
        }

        for (int i = 0; i < request.N; i++)
        {
            Utf8JsonWriter w = BeginChunk(pipe, reply, request, i);
            EndChunk(pipe, w, reply.FinishReason, usageField);
        }

        if (request.IncludeUsage && options.Fail != FailMode.NoUsage)
        {
            pipe.Write("data: "u8);
            Utf8JsonWriter w = JsonWriterCache.Rent(pipe);
            WriteChunkHeader(w, reply, request);
            w.WriteStartArray("choices"u8);
            w.WriteEndArray();
            WriteUsage(w, reply, options.Fail == FailMode.HugeUsage);
            w.WriteEndObject();
            ResponseWriter.EndFrame(pipe, w);
        }

        pipe.Write("data: [DONE]\n\n"u8);
        await ResponseWriter.FlushAsync(pipe, ct).ConfigureAwait(false);
    }

    private static Utf8JsonWriter BeginChunk(PipeWriter pipe, Reply reply, ChatRequest request, int index)
    {
        Utf8JsonWriter w = ResponseWriter.BeginFrame(pipe);
        WriteChunkHeader(w, reply, request);
        w.WriteStartArray("choices"u8);
        w.WriteStartObject();
        w.WriteNumber("index"u8, index);
        w.WriteStartObject("delta"u8);
        return w;
    }

    private static void EndChunk(PipeWriter pipe, Utf8JsonWriter w, string? finishReason, bool usageField)
    {
        w.WriteEndObject();
        w.WriteNull("logprobs"u8);
        if (finishReason is null)
        {
            w.WriteNull("finish_reason"u8);
        }
        else
        {
            w.WriteString("finish_reason"u8, finishReason);
        }

        w.WriteEndObject();
        w.WriteEndArray();
        if (usageField)
        {
            w.WriteNull("usage"u8);
        }

        w.WriteEndObject();
        ResponseWriter.EndFrame(pipe, w);
    }

    private static void WriteChunkHeader(Utf8JsonWriter w, Reply reply, ChatRequest request)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, reply.Id);
        w.WriteString("object"u8, "chat.completion.chunk"u8);
        w.WriteNumber("created"u8, reply.Created);
        w.WriteString("model"u8, request.Model);
        w.WriteString("service_tier"u8, request.ServiceTier);
        w.WriteString("system_fingerprint"u8, "fp_sim"u8);
    }

    private static void WriteUsage(Utf8JsonWriter w, Reply reply, bool huge = false)
    {
        w.WriteStartObject("usage"u8);
        w.WriteNumber("prompt_tokens"u8, huge ? 9_000_000_000_000_000_000 : reply.PromptTokens);
        w.WriteNumber("completion_tokens"u8, reply.CompletionTokens);
        w.WriteNumber("total_tokens"u8, (long)reply.PromptTokens + reply.CompletionTokens);
        w.WriteStartObject("prompt_tokens_details"u8);
        w.WriteNumber("cached_tokens"u8, reply.CachedTokens);
        w.WriteNumber("audio_tokens"u8, 0);
        w.WriteEndObject();
        w.WriteStartObject("completion_tokens_details"u8);
        w.WriteNumber("reasoning_tokens"u8, reply.ReasoningTokens);
        w.WriteNumber("audio_tokens"u8, 0);
        w.WriteNumber("accepted_prediction_tokens"u8, 0);
        w.WriteNumber("rejected_prediction_tokens"u8, 0);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>The answer every choice carries, decided once per request.</summary>
    private sealed class Reply
    {
        public Reply(ChatRequest request, SimOptions options, SimContext sim)
        {
            Id = sim.Ids.Next("chatcmpl-");
            Created = sim.UnixNow;
            PromptTokens = request.InputTokens;
            CachedTokens = Math.Min(options.Cached, request.InputTokens);
            int perChoice;
            if (request.TryChooseTool(out string name, out JsonElement parameters))
            {
                Tool = ToolCallPlan.Create(name, parameters);
                perChoice = Tool.Tokens;
                FinishReason = "tool_calls";
            }
            else
            {
                Text = TextPlan.Create(options.Out, request.MaxTokens, request.JsonMode, request.Stops);
                perChoice = Text.Tokens;
                FinishReason = ChatCompletionsHandler.FinishReason(Text.Finish);
            }

            // Hidden reasoning (the reason option) is billed as output within the same limit, as OpenAI counts it.
            var reasoning = Math.Max(0, Math.Min(options.Reason, (request.MaxTokens ?? int.MaxValue) - perChoice));
            ReasoningTokens = (long)reasoning * request.N;
            CompletionTokens = ((long)perChoice * request.N) + ReasoningTokens;
        }

        public long ReasoningTokens { get; }

        public string Id { get; }

        public long Created { get; }

        public int PromptTokens { get; }

        public int CachedTokens { get; }

        public long CompletionTokens { get; }

        public string FinishReason { get; }

        public ToolCallPlan? Tool { get; }

        public TextPlan? Text { get; }
    }
}
