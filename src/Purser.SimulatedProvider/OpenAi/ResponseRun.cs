using System.Text.Json;
using Purser.SimulatedProvider.Common;

namespace Purser.SimulatedProvider.OpenAi;

/// <summary>
/// One Responses API answer, decided once when it is created: its ids, its output (text or a function call, after a
/// reasoning item when the <c>reason</c> option asks for hidden reasoning) and its usage. A stored response keeps its
/// run, so a later <c>GET</c> renders the same object.
/// </summary>
internal sealed class ResponseRun
{
    public ResponseRun(ResponsesRequest request, SimOptions options, SimContext sim, int conversationTokens)
    {
        Request = request;
        Id = sim.Ids.Next("resp_");
        CreatedAt = sim.UnixNow;
        MessageId = sim.Ids.Next("msg_");
        InputTokens = request.InputTokens + conversationTokens;
        CachedTokens = Math.Min(options.Cached, InputTokens);
        QueuedRetrievals = options.Queued;
        int visible;
        if (request.TryChooseTool(out string name, out JsonElement parameters))
        {
            Tool = ToolCallPlan.Create(name, parameters);
            FunctionCallId = sim.Ids.Next("fc_");
            CallId = sim.Ids.Next("call_");
            visible = Tool.Tokens;
        }
        else
        {
            Text = TextPlan.Create(options.Out, request.MaxOutputTokens, request.JsonMode, null);
            visible = Text.Tokens;
            Incomplete = Text.Finish == FinishKind.Length;
        }

        // Hidden reasoning is billed as output within the same max_output_tokens, as OpenAI counts it.
        ReasoningTokens = Math.Max(0, Math.Min(options.Reason, (request.MaxOutputTokens ?? int.MaxValue) - visible));
        if (ReasoningTokens > 0)
        {
            ReasoningId = sim.Ids.Next("rs_");
        }

        VisibleOutputTokens = visible;
        OutputTokens = visible + ReasoningTokens;
    }

    public ResponsesRequest Request { get; }

    /// <summary>How many retrievals find a background response still queued (<c>queued=N</c>).</summary>
    public int QueuedRetrievals { get; }

    public string Id { get; }

    public long CreatedAt { get; }

    public string MessageId { get; }

    public string? ReasoningId { get; }

    public string? FunctionCallId { get; }

    public string? CallId { get; }

    public TextPlan? Text { get; }

    public ToolCallPlan? Tool { get; }

    /// <summary>The text was cut by max_output_tokens: the response is "incomplete".</summary>
    public bool Incomplete { get; }

    public int InputTokens { get; }

    public int CachedTokens { get; }

    public int ReasoningTokens { get; }

    public int VisibleOutputTokens { get; }

    public int OutputTokens { get; }

    /// <summary>What a response continuing this one is billed again as input: its input and its visible output.</summary>
    public int ConversationTokens => InputTokens + VisibleOutputTokens;

    /// <summary>The finished status: completed, or incomplete when the text hit the output limit.</summary>
    public string FinalStatus => Incomplete ? "incomplete" : "completed";
}
