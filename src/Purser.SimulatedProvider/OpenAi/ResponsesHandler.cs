using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Purser.SimulatedProvider.Common;

namespace Purser.SimulatedProvider.OpenAi;

/// <summary>
/// <c>POST /v1/responses</c>, whole or streamed, in OpenAI's wire shapes. A stream is the Responses API's named
/// events, each with its <c>type</c> and <c>sequence_number</c>: <c>response.created</c>, <c>response.in_progress</c>,
/// then per output item <c>response.output_item.added</c>, its content (<c>response.content_part.added</c>,
/// <c>response.output_text.delta</c>…, <c>response.output_text.done</c>, <c>response.content_part.done</c>; or
/// <c>response.function_call_arguments.delta</c>…/<c>.done</c>), <c>response.output_item.done</c>, and last
/// <c>response.completed</c> (or <c>response.incomplete</c>) carrying the usage. The model-suffix failure options
/// apply: <c>fail=429|500|timeout|cut:K|no_usage|huge_usage|malformed_sse|json_stream|cut_body</c>.
/// </summary>
internal sealed class ResponsesHandler
{
    private static readonly byte[] MalformedJsonBody = "{\"id\":\"resp_broken\",\"object\":\"response\",\"output\":[<html>"u8.ToArray();
    private static readonly byte[] MalformedSseFrame = "event: response.output_text.delta\ndata: {not json\n\n"u8.ToArray();

    private readonly SimContext sim;
    private readonly ResponseStore store;

    public ResponsesHandler(SimContext sim, ResponseStore store)
    {
        this.sim = sim;
        this.store = store;
    }

    public async Task HandleAsync(HttpContext context)
    {
        using JsonDocument? document = await OpenAiOpening.OpenAsync(context, sim).ConfigureAwait(false);
        if (document is null)
        {
            return;
        }

        if (!ResponsesRequest.TryRead(document.RootElement, out ResponsesRequest request, out string error, out string? param))
        {
            await OpenAiErrors.InvalidRequestAsync(context, error, param).ConfigureAwait(false);
            return;
        }

        if (!SimOptionsParser.TryParse(request.Model, context.Request.Headers, out SimOptions options, out error))
        {
            await OpenAiErrors.InvalidRequestAsync(context, error, "model").ConfigureAwait(false);
            return;
        }

        int conversation = 0;
        if (request.PreviousResponseId is { } previousId)
        {
            if (!store.TryGet(previousId, out ResponseStore.Entry previous))
            {
                await OpenAiErrors.WriteAsync(context, StatusCodes.Status400BadRequest, $"Previous response with id '{previousId}' not found.", "invalid_request_error", "previous_response_id", "previous_response_not_found").ConfigureAwait(false);
                return;
            }

            conversation = previous.Run.ConversationTokens;
        }

        if (await EarlyFailures.PlayAsync(context, sim, options, MalformedJsonBody, OpenAiErrors.SimulatedFailureAsync).ConfigureAwait(false))
        {
            return;
        }

        var run = new ResponseRun(request, options, sim, conversation);
        if (request.Store)
        {
            store.Add(run, request.Background && !request.Stream ? ResponseJson.Stage.Queued : ResponseJson.Stage.Finished);
        }

        if ((request.Stream && options.Fail != FailMode.JsonStream) || options.Fail is FailMode.MalformedSse or FailMode.Cut)
        {
            await StreamAsync(context, options, run).ConfigureAwait(false);
            return;
        }

        var stage = request.Background ? ResponseJson.Stage.Queued : ResponseJson.Stage.Finished;
        await SendResponseAsync(context, run, stage, options.Fail).ConfigureAwait(false);
    }

    /// <summary>A whole response object (also the answer of GET and cancel).</summary>
    public static async Task SendResponseAsync(HttpContext context, ResponseRun run, ResponseJson.Stage stage, FailMode fail)
    {
        using var body = new PooledBufferWriter(2048 + (run.Text?.Text.Length ?? 0));
        Utf8JsonWriter w = JsonWriterCache.Rent(body);
        ResponseJson.WriteResponse(w, run, stage, fail != FailMode.NoUsage, fail == FailMode.HugeUsage);
        JsonWriterCache.Return(w);
        if (fail == FailMode.CutBody)
        {
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

    private async Task StreamAsync(HttpContext context, SimOptions options, ResponseRun run)
    {
        CancellationToken ct = context.RequestAborted;
        var events = new EventWriter(ResponseWriter.StartStream(context, options.Fail == FailMode.Cut), options.Fail == FailMode.Cut ? options.CutAfter : int.MaxValue);

        Utf8JsonWriter w = events.Begin("response.created"u8);
        w.WritePropertyName("response"u8);
        ResponseJson.WriteResponse(w, run, ResponseJson.Stage.InProgress, usage: false, hugeUsage: false);
        events.End(w);
        w = events.Begin("response.in_progress"u8);
        w.WritePropertyName("response"u8);
        ResponseJson.WriteResponse(w, run, ResponseJson.Stage.InProgress, usage: false, hugeUsage: false);
        events.End(w);
        if (!await events.FlushAsync(context, ct).ConfigureAwait(false))
        {
            return;
        }

        if (options.Fail == FailMode.MalformedSse)
        {
            events.Pipe.Write(MalformedSseFrame);
            events.Pipe.Write(MalformedSseFrame);
            await ResponseWriter.FlushAsync(events.Pipe, ct).ConfigureAwait(false);
            return;
        }

        await sim.DelayAsync(options.TtftMs, ct).ConfigureAwait(false);
        int outputIndex = 0;
        if (run.ReasoningId is not null)
        {
            w = events.Begin("response.output_item.added"u8);
            w.WriteNumber("output_index"u8, outputIndex);
            w.WritePropertyName("item"u8);
            ResponseJson.WriteReasoningItem(w, run);
            events.End(w);
            w = events.Begin("response.output_item.done"u8);
            w.WriteNumber("output_index"u8, outputIndex);
            w.WritePropertyName("item"u8);
            ResponseJson.WriteReasoningItem(w, run);
            events.End(w);
            outputIndex++;
        }

        var pacer = new StreamPacer(sim, options.TokensPerSecond);
        int chunk = options.Chunk;
        if (run.Tool is ToolCallPlan tool)
        {
            w = events.Begin("response.output_item.added"u8);
            w.WriteNumber("output_index"u8, outputIndex);
            w.WritePropertyName("item"u8);
            ResponseJson.WriteFunctionCallItem(w, run, "in_progress", string.Empty);
            events.End(w);
            int fragments = tool.FragmentCount(chunk);
            for (int f = 0; f < fragments; f++)
            {
                await pacer.WaitForTokenAsync((long)f * chunk, ct).ConfigureAwait(false);
                w = events.Begin("response.function_call_arguments.delta"u8);
                w.WriteString("item_id"u8, run.FunctionCallId);
                w.WriteNumber("output_index"u8, outputIndex);
                w.WriteString("delta"u8, tool.Fragment(f, chunk));
                events.End(w);
                if (!await events.FlushAsync(context, ct).ConfigureAwait(false))
                {
                    return;
                }
            }

            w = events.Begin("response.function_call_arguments.done"u8);
            w.WriteString("item_id"u8, run.FunctionCallId);
            w.WriteNumber("output_index"u8, outputIndex);
            w.WriteString("name"u8, tool.Name);
            w.WriteString("arguments"u8, tool.Arguments);
            events.End(w);
            w = events.Begin("response.output_item.done"u8);
            w.WriteNumber("output_index"u8, outputIndex);
            w.WritePropertyName("item"u8);
            ResponseJson.WriteFunctionCallItem(w, run, "completed", tool.Arguments);
            events.End(w);
        }
        else
        {
            TextPlan text = run.Text!;
            w = events.Begin("response.output_item.added"u8);
            w.WriteNumber("output_index"u8, outputIndex);
            w.WritePropertyName("item"u8);
            ResponseJson.WriteMessageItem(w, run, "in_progress", null);
            events.End(w);
            w = events.Begin("response.content_part.added"u8);
            WritePartPosition(w, run, outputIndex);
            w.WritePropertyName("part"u8);
            ResponseJson.WriteTextPart(w, string.Empty);
            events.End(w);
            for (int t = 0; t < text.Tokens; t += chunk)
            {
                await pacer.WaitForTokenAsync(t, ct).ConfigureAwait(false);
                w = events.Begin("response.output_text.delta"u8);
                WritePartPosition(w, run, outputIndex);
                w.WriteString("delta"u8, text.Slice(t, chunk));
                w.WriteStartArray("logprobs"u8);
                w.WriteEndArray();
                events.End(w);
                if (!await events.FlushAsync(context, ct).ConfigureAwait(false))
                {
                    return;
                }
            }

            w = events.Begin("response.output_text.done"u8);
            WritePartPosition(w, run, outputIndex);
            w.WriteString("text"u8, text.Text);
            w.WriteStartArray("logprobs"u8);
            w.WriteEndArray();
            events.End(w);
            w = events.Begin("response.content_part.done"u8);
            WritePartPosition(w, run, outputIndex);
            w.WritePropertyName("part"u8);
            ResponseJson.WriteTextPart(w, text.Text);
            events.End(w);
            w = events.Begin("response.output_item.done"u8);
            w.WriteNumber("output_index"u8, outputIndex);
            w.WritePropertyName("item"u8);
            ResponseJson.WriteMessageItem(w, run, run.Incomplete ? "incomplete" : "completed", text.Text);
            events.End(w);
        }

        if (!await events.FlushAsync(context, ct).ConfigureAwait(false))
        {
            return;
        }

        if (options.Fail == FailMode.Cut)
        {
            await ResponseWriter.EndCutAsync(context, events.Pipe, ct).ConfigureAwait(false);
            return;
        }

        w = events.Begin(run.Incomplete ? "response.incomplete"u8 : "response.completed"u8);
        w.WritePropertyName("response"u8);
        ResponseJson.WriteResponse(w, run, ResponseJson.Stage.Finished, options.Fail != FailMode.NoUsage, options.Fail == FailMode.HugeUsage);
        events.End(w);
        await events.FlushAsync(context, ct).ConfigureAwait(false);
    }

    private static void WritePartPosition(Utf8JsonWriter w, ResponseRun run, int outputIndex)
    {
        w.WriteString("item_id"u8, run.MessageId);
        w.WriteNumber("output_index"u8, outputIndex);
        w.WriteNumber("content_index"u8, 0);
    }

    /// <summary>Writes named events with their type and sequence number; after <c>cutAfter</c> events the stream is cut.</summary>
    private sealed class EventWriter
    {
        private readonly int cutAfter;
        private int sequence;

        public EventWriter(PipeWriter pipe, int cutAfter)
        {
            Pipe = pipe;
            this.cutAfter = cutAfter;
        }

        public PipeWriter Pipe { get; }

        public Utf8JsonWriter Begin(ReadOnlySpan<byte> type)
        {
            Utf8JsonWriter w = ResponseWriter.BeginFrame(Pipe, type);
            w.WriteStartObject();
            w.WriteString("type"u8, type);
            w.WriteNumber("sequence_number"u8, sequence++);
            return w;
        }

        public void End(Utf8JsonWriter w)
        {
            w.WriteEndObject();
            ResponseWriter.EndFrame(Pipe, w);
        }

        /// <summary>Sends what was written; false when the client left or the stream was cut here.</summary>
        public async ValueTask<bool> FlushAsync(HttpContext context, CancellationToken ct)
        {
            if (sequence >= cutAfter)
            {
                await ResponseWriter.EndCutAsync(context, Pipe, ct).ConfigureAwait(false);
                return false;
            }

            return await ResponseWriter.FlushAsync(Pipe, ct).ConfigureAwait(false);
        }
    }
}
