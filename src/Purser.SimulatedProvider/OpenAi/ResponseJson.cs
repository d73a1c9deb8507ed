using System.Text.Json;
using Purser.SimulatedProvider.Common;

namespace Purser.SimulatedProvider.OpenAi;

/// <summary>The Responses API's JSON shapes: the response object, its output items and its usage, as OpenAI writes them.</summary>
internal static class ResponseJson
{
    /// <summary>What of a response is rendered: the finished answer, or an envelope without output (queued, in progress).</summary>
    public enum Stage
    {
        Queued,
        InProgress,
        Finished,
        Cancelled,
    }

    public static void WriteResponse(Utf8JsonWriter w, ResponseRun run, Stage stage, bool usage, bool hugeUsage)
    {
        ResponsesRequest request = run.Request;
        w.WriteStartObject();
        w.WriteString("id"u8, run.Id);
        w.WriteString("object"u8, "response"u8);
        w.WriteNumber("created_at"u8, run.CreatedAt);
        w.WriteString("status"u8, stage switch
        {
            Stage.Queued => "queued",
            Stage.InProgress => "in_progress",
            Stage.Cancelled => "cancelled",
            _ => run.FinalStatus,
        });
        w.WriteBoolean("background"u8, request.Background);
        w.WriteNull("error"u8);
        if (stage == Stage.Finished && run.Incomplete)
        {
            w.WriteStartObject("incomplete_details"u8);
            w.WriteString("reason"u8, "max_output_tokens"u8);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("incomplete_details"u8);
        }

        WriteNullable(w, "instructions"u8, request.Instructions);
        if (request.MaxOutputTokens is int max)
        {
            w.WriteNumber("max_output_tokens"u8, max);
        }
        else
        {
            w.WriteNull("max_output_tokens"u8);
        }

        w.WriteString("model"u8, request.Model);
        w.WriteStartArray("output"u8);
        if (stage == Stage.Finished)
        {
            WriteOutput(w, run);
        }

        w.WriteEndArray();
        w.WriteBoolean("parallel_tool_calls"u8, true);
        WriteNullable(w, "previous_response_id"u8, request.PreviousResponseId);
        w.WriteStartObject("reasoning"u8);
        w.WriteNull("effort"u8);
        w.WriteNull("summary"u8);
        w.WriteEndObject();
        w.WriteString("service_tier"u8, request.ServiceTier);
        w.WriteBoolean("store"u8, request.Store);
        w.WriteNumber("temperature"u8, 1.0);
        w.WriteStartObject("text"u8);
        w.WriteStartObject("format"u8);
        w.WriteString("type"u8, request.JsonMode ? "json_object"u8 : "text"u8);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteString("tool_choice"u8, "auto"u8);
        w.WritePropertyName("tools"u8);
        if (request.Tools.ValueKind == JsonValueKind.Array)
        {
            request.Tools.WriteTo(w);
        }
        else
        {
            w.WriteStartArray();
            w.WriteEndArray();
        }

        w.WriteNumber("top_p"u8, 1.0);
        w.WriteString("truncation"u8, "disabled"u8);
        if (stage == Stage.Finished && usage)
        {
            WriteUsage(w, run, hugeUsage);
        }
        else
        {
            w.WriteNull("usage"u8);
        }

        w.WriteNull("user"u8);
        w.WriteStartObject("metadata"u8);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static void WriteOutput(Utf8JsonWriter w, ResponseRun run)
    {
        if (run.ReasoningId is not null)
        {
            WriteReasoningItem(w, run);
        }

        if (run.Tool is not null)
        {
            WriteFunctionCallItem(w, run, "completed", run.Tool.Arguments);
        }
        else
        {
            WriteMessageItem(w, run, run.Incomplete ? "incomplete" : "completed", run.Text!.Text);
        }
    }

    public static void WriteReasoningItem(Utf8JsonWriter w, ResponseRun run)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, run.ReasoningId);
        w.WriteString("type"u8, "reasoning"u8);
        w.WriteStartArray("summary"u8);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>An assistant message item; <paramref name="text"/> null writes it without content parts (when just added).</summary>
    public static void WriteMessageItem(Utf8JsonWriter w, ResponseRun run, string status, string? text)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, run.MessageId);
        w.WriteString("type"u8, "message"u8);
        w.WriteString("status"u8, status);
        w.WriteStartArray("content"u8);
        if (text is not null)
        {
            WriteTextPart(w, text);
        }

        w.WriteEndArray();
        w.WriteString("role"u8, "assistant"u8);
        w.WriteEndObject();
    }

    public static void WriteTextPart(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        w.WriteString("type"u8, "output_text"u8);
        w.WriteStartArray("annotations"u8);
        w.WriteEndArray();
        w.WriteStartArray("logprobs"u8);
        w.WriteEndArray();
        w.WriteString("text"u8, text);
        w.WriteEndObject();
    }

    public static void WriteFunctionCallItem(Utf8JsonWriter w, ResponseRun run, string status, string arguments)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, run.FunctionCallId);
        w.WriteString("type"u8, "function_call"u8);
        w.WriteString("status"u8, status);
        w.WriteString("arguments"u8, arguments);
        w.WriteString("call_id"u8, run.CallId);
        w.WriteString("name"u8, run.Tool!.Name);
        w.WriteEndObject();
    }

    private static void WriteUsage(Utf8JsonWriter w, ResponseRun run, bool huge)
    {
        long input = huge ? 9_000_000_000_000_000_000 : run.InputTokens;
        w.WriteStartObject("usage"u8);
        w.WriteNumber("input_tokens"u8, input);
        w.WriteStartObject("input_tokens_details"u8);
        w.WriteNumber("cached_tokens"u8, run.CachedTokens);
        w.WriteEndObject();
        w.WriteNumber("output_tokens"u8, run.OutputTokens);
        w.WriteStartObject("output_tokens_details"u8);
        w.WriteNumber("reasoning_tokens"u8, run.ReasoningTokens);
        w.WriteEndObject();
        w.WriteNumber("total_tokens"u8, huge ? input : input + run.OutputTokens);
        w.WriteEndObject();
    }

    private static void WriteNullable(Utf8JsonWriter w, ReadOnlySpan<byte> name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }
}
