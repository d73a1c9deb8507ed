using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Purser.SimulatedProvider.Common;

namespace Purser.SimulatedProvider.Anthropic;

/// <summary><c>POST /v1/messages</c>, streaming and not, in Anthropic's exact wire shapes.</summary>
internal sealed class MessagesHandler
{
    private static readonly byte[] MalformedJsonBody = "{\"id\":\"msg_broken\",\"type\":\"message\",\"content\":[{\"type\":<html>"u8.ToArray();
    private static readonly byte[] MalformedSseFrame = "event: content_block_delta\ndata: {not json\n\n"u8.ToArray();

    private readonly SimContext sim;

    public MessagesHandler(SimContext sim)
    {
        this.sim = sim;
    }

    public async Task HandleAsync(HttpContext context)
    {
        using JsonDocument? document = await AnthropicOpening.OpenAsync(context, sim).ConfigureAwait(false);
        if (document is null)
        {
            return;
        }

        if (!MessagesRequest.TryRead(document.RootElement, out MessagesRequest request, out string error))
        {
            await AnthropicErrors.InvalidRequestAsync(context, error).ConfigureAwait(false);
            return;
        }

        if (!SimOptionsParser.TryParse(request.Model, context.Request.Headers, out SimOptions options, out error))
        {
            await AnthropicErrors.InvalidRequestAsync(context, "model: " + error).ConfigureAwait(false);
            return;
        }

        bool context1M = context.Request.Headers["anthropic-beta"].ToString().Contains(ContextWindows.Context1MBeta, StringComparison.Ordinal);
        if (ContextWindows.Of(request.Model, context1M) is { } window && request.InputTokens > window)
        {
            await AnthropicErrors.InvalidRequestAsync(context, string.Create(CultureInfo.InvariantCulture, $"prompt is too long: {request.InputTokens} tokens > {window} maximum")).ConfigureAwait(false);
            return;
        }

        if (await EarlyFailures.PlayAsync(context, sim, options, MalformedJsonBody, AnthropicErrors.SimulatedFailureAsync).ConfigureAwait(false))
        {
            return;
        }

        var reply = new Reply(request, options, sim);
        if (request.Stream || options.Fail is FailMode.MalformedSse or FailMode.Cut)
        {
            await StreamAsync(context, request, options, reply).ConfigureAwait(false);
        }
        else
        {
            await CompleteAsync(context, request, reply).ConfigureAwait(false);
        }
    }

    private static async Task CompleteAsync(HttpContext context, MessagesRequest request, Reply reply)
    {
        using var body = new PooledBufferWriter(1024 + (reply.Text?.Text.Length ?? 0));
        Utf8JsonWriter w = JsonWriterCache.Rent(body);
        w.WriteStartObject();
        w.WriteString("id"u8, reply.Id);
        w.WriteString("type"u8, "message"u8);
        w.WriteString("role"u8, "assistant"u8);
        w.WriteString("model"u8, request.Model);
        w.WriteStartArray("content"u8);
        w.WriteStartObject();
        if (reply.Tool is ToolCallPlan tool)
        {
            w.WriteString("type"u8, "tool_use"u8);
            w.WriteString("id"u8, reply.ToolUseId);
            w.WriteString("name"u8, tool.Name);
            w.WritePropertyName("input"u8);
            w.WriteRawValue(tool.Arguments, skipInputValidation: true);
        }
        else
        {
            w.WriteString("type"u8, "text"u8);
            w.WriteString("text"u8, reply.Text!.Text);
        }

        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteString("stop_reason"u8, reply.StopReason);
        WriteStopSequence(w, reply);
        WriteUsage(w, reply, reply.OutputTokens);
        w.WriteEndObject();
        JsonWriterCache.Return(w);
        await ResponseWriter.SendAsync(context, StatusCodes.Status200OK, body).ConfigureAwait(false);
    }

    private async Task StreamAsync(HttpContext context, MessagesRequest request, SimOptions options, Reply reply)
    {
        CancellationToken ct = context.RequestAborted;
        PipeWriter pipe = ResponseWriter.StartStream(context, options.Fail == FailMode.Cut);

        Utf8JsonWriter w = ResponseWriter.BeginFrame(pipe, "message_start"u8);
        w.WriteStartObject();
        w.WriteString("type"u8, "message_start"u8);
        w.WriteStartObject("message"u8);
        w.WriteString("id"u8, reply.Id);
        w.WriteString("type"u8, "message"u8);
        w.WriteString("role"u8, "assistant"u8);
        w.WriteString("model"u8, request.Model);
        w.WriteStartArray("content"u8);
        w.WriteEndArray();
        w.WriteNull("stop_reason"u8);
        w.WriteNull("stop_sequence"u8);
        WriteUsage(w, reply, 1);
        w.WriteEndObject();
        w.WriteEndObject();
        ResponseWriter.EndFrame(pipe, w);
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

        w = ResponseWriter.BeginFrame(pipe, "content_block_start"u8);
        w.WriteStartObject();
        w.WriteString("type"u8, "content_block_start"u8);
        w.WriteNumber("index"u8, 0);
        w.WriteStartObject("content_block"u8);
        if (reply.Tool is ToolCallPlan startTool)
        {
            w.WriteString("type"u8, "tool_use"u8);
            w.WriteString("id"u8, reply.ToolUseId);
            w.WriteString("name"u8, startTool.Name);
            w.WriteStartObject("input"u8);
            w.WriteEndObject();
        }
        else
        {
            w.WriteString("type"u8, "text"u8);
            w.WriteString("text"u8, string.Empty);
        }

        w.WriteEndObject();
        w.WriteEndObject();
        ResponseWriter.EndFrame(pipe, w);
        pipe.Write("event: ping\ndata: {\"type\":\"ping\"}\n\n"u8);
        if (!await ResponseWriter.FlushAsync(pipe, ct).ConfigureAwait(false))
        {
            return;
        }

        await sim.DelayAsync(options.TtftMs, ct).ConfigureAwait(false);
        var pacer = new StreamPacer(sim, options.TokensPerSecond);
        int chunk = options.Chunk;
        bool cut = options.Fail == FailMode.Cut;
        int frames = 0;
        int deltas = reply.Tool?.FragmentCount(chunk) ?? (reply.Text!.Tokens + chunk - 1) / chunk;
        for (int d = 0; d < deltas; d++)
        {
            if (cut && frames >= options.CutAfter)
            {
                break;
            }

            await pacer.WaitForTokenAsync((long)d * chunk, ct).ConfigureAwait(false);
            w = ResponseWriter.BeginFrame(pipe, "content_block_delta"u8);
            w.WriteStartObject();
            w.WriteString("type"u8, "content_block_delta"u8);
            w.WriteNumber("index"u8, 0);
            w.WriteStartObject("delta"u8);
            if (reply.Tool is ToolCallPlan tool)
            {
                w.WriteString("type"u8, "input_json_delta"u8);
                w.WriteString("partial_json"u8, tool.Fragment(d, chunk));
            }
            else
            {
                w.WriteString("type"u8, "text_delta"u8);
                w.WriteString("text"u8, reply.Text!.Slice(d * chunk, chunk));
            }

            w.WriteEndObject();
            w.WriteEndObject();
            ResponseWriter.EndFrame(pipe, w);
            frames++;
            if (!await ResponseWriter.FlushAsync(pipe, ct).ConfigureAwait(false))
            {
                return;
            }
        }

        if (cut)
        {
            // Drop the connection mid-message: no content_block_stop, message_delta or message_stop.
            await ResponseWriter.EndCutAsync(context, pipe, ct).ConfigureAwait(false);
            return;
        }

        pipe.Write("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"u8);
        w = ResponseWriter.BeginFrame(pipe, "message_delta"u8);
        w.WriteStartObject();
        w.WriteString("type"u8, "message_delta"u8);
        w.WriteStartObject("delta"u8);
        w.WriteString("stop_reason"u8, reply.StopReason);
        WriteStopSequence(w, reply);
        w.WriteEndObject();
        WriteUsage(w, reply, reply.OutputTokens);
        w.WriteEndObject();
        ResponseWriter.EndFrame(pipe, w);
        pipe.Write("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"u8);
        await ResponseWriter.FlushAsync(pipe, ct).ConfigureAwait(false);
    }

    private static void WriteStopSequence(Utf8JsonWriter w, Reply reply)
    {
        if (reply.Text?.MatchedStop is string stop)
        {
            w.WriteString("stop_sequence"u8, stop);
        }
        else
        {
            w.WriteNull("stop_sequence"u8);
        }
    }

    private static void WriteUsage(Utf8JsonWriter w, Reply reply, int outputTokens)
    {
        w.WriteStartObject("usage"u8);
        w.WriteNumber("input_tokens"u8, reply.InputTokens - reply.CachedTokens - reply.WrittenTokens);
        w.WriteNumber("cache_creation_input_tokens"u8, reply.WrittenTokens);
        w.WriteNumber("cache_read_input_tokens"u8, reply.CachedTokens);
        w.WriteStartObject("cache_creation"u8);
        w.WriteNumber("ephemeral_5m_input_tokens"u8, reply.WrittenTokens - reply.Written1hTokens);
        w.WriteNumber("ephemeral_1h_input_tokens"u8, reply.Written1hTokens);
        w.WriteEndObject();
        w.WriteNumber("output_tokens"u8, outputTokens);
        if (reply.Searches > 0)
        {
            w.WriteStartObject("server_tool_use"u8);
            w.WriteNumber("web_search_requests"u8, reply.Searches);
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    /// <summary>The answer, decided once per request.</summary>
    private sealed class Reply
    {
        public Reply(MessagesRequest request, SimOptions options, SimContext sim)
        {
            Id = sim.Ids.Next("msg_");
            // Each web search (the searches option, at most max_uses) adds 1,000 tokens of results to the input.
            Searches = request.HasWebSearch ? Math.Min(options.Searches, request.WebSearchMaxUses ?? options.Searches) : 0;
            InputTokens = request.InputTokens + (Searches * 1_000);
            CachedTokens = Math.Min(options.Cached, InputTokens);

            // A cache_control writes what was not read from the cache, at the longest lifetime asked for.
            WrittenTokens = request.CacheTtl is null ? 0 : InputTokens - CachedTokens;
            Written1hTokens = request.CacheTtl == "1h" ? WrittenTokens : 0;
            if (request.TryChooseTool(out string name, out JsonElement schema))
            {
                Tool = ToolCallPlan.Create(name, schema);
                ToolUseId = sim.Ids.Next("toolu_");
                OutputTokens = Tool.Tokens;
                StopReason = "tool_use";
            }
            else
            {
                Text = TextPlan.Create(options.Out, request.MaxTokens, jsonMode: false, request.StopSequences);
                OutputTokens = Text.Tokens;
                StopReason = Text.Finish switch
                {
                    FinishKind.Length => "max_tokens",
                    FinishKind.StopSequence => "stop_sequence",
                    _ => "end_turn",
                };
            }

            // Thinking (the reason option) is billed as output within max_tokens, as Anthropic counts it.
            OutputTokens += Math.Max(0, Math.Min(options.Reason, request.MaxTokens - OutputTokens));
        }

        public string Id { get; }

        public string ToolUseId { get; } = string.Empty;

        public int InputTokens { get; }

        public int CachedTokens { get; }

        public int WrittenTokens { get; }

        public int Written1hTokens { get; }

        public int Searches { get; }

        public int OutputTokens { get; }

        public string StopReason { get; }

        public ToolCallPlan? Tool { get; }

        public TextPlan? Text { get; }
    }
}
