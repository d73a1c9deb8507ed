using System.Text.Json;

namespace Purser.SimulatedProvider.Common;

/// <summary>
/// The function tools of a request and its tool choice, read the same way by the three request readers (Chat
/// Completions, Responses, Anthropic Messages); what differs is where a tool keeps its name and schema (<see cref="ToolShape"/>)
/// and each format's own checks and messages.
/// </summary>
internal sealed class RequestTools
{
    private readonly ToolShape shape;
    private JsonElement list;
    private string? choiceName;
    private bool choiceNone;

    public RequestTools(ToolShape shape)
    {
        this.shape = shape;
    }

    /// <summary>The request's tool list as sent (undefined when it has none).</summary>
    public JsonElement List => list;

    /// <summary>The input tokens the tool list costs (0 without one).</summary>
    public int ListTokens { get; private set; }

    /// <summary>
    /// Reads the optional <c>tools</c> array: <paramref name="notArray"/> when it is not one, else the first error
    /// <paramref name="check"/> gives for a tool (its element and index). A non-empty list is kept (cloned, so it
    /// outlives the body) and its bytes are counted in <see cref="ListTokens"/>. <paramref name="choice"/> is the
    /// request's <c>tool_choice</c>, undefined when it has none (or null), for the format to read.
    /// </summary>
    public bool TryRead(JsonElement root, string notArray, Func<JsonElement, int, string?> check, out JsonElement choice, out string error)
    {
        choice = root.TryGetProperty("tool_choice", out JsonElement c) && c.ValueKind != JsonValueKind.Null ? c : default;
        error = string.Empty;
        if (!root.TryGetProperty("tools", out JsonElement toolList) || toolList.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (toolList.ValueKind != JsonValueKind.Array)
        {
            error = notArray;
            return false;
        }

        int index = 0;
        foreach (JsonElement tool in toolList.EnumerateArray())
        {
            if (check(tool, index) is { } message)
            {
                error = message;
                return false;
            }

            index++;
        }

        if (index > 0)
        {
            list = toolList.Clone();
            ListTokens = TokenCounter.FromBytes(JsonText.RawLength(toolList));
        }

        return true;
    }

    /// <summary>The choice "none": the answer is text whatever tools there are.</summary>
    public void ChooseNone() => choiceNone = true;

    /// <summary>
    /// The choice of one named tool: false when no tool has that name (unless the last message is a tool result, when
    /// no tool is called anyway).
    /// </summary>
    public bool TryChooseNamed(string? name, bool lastIsToolResult)
    {
        choiceName = name;
        return lastIsToolResult || TryChoose(lastIsToolResult, out _, out _);
    }

    /// <summary>The chosen name, for an error message.</summary>
    public string? ChosenName => choiceName;

    /// <summary>The tool to call, when the answer must be a tool call rather than text.</summary>
    public bool TryChoose(bool lastIsToolResult, out string name, out JsonElement schema)
    {
        name = string.Empty;
        schema = default;
        if (list.ValueKind != JsonValueKind.Array || choiceNone || lastIsToolResult)
        {
            return false;
        }

        foreach (JsonElement tool in list.EnumerateArray())
        {
            JsonElement function;
            switch (shape)
            {
                case ToolShape.ChatFunction:
                    function = tool.GetProperty("function");
                    break;
                case ToolShape.ResponsesFunction:
                    if (!tool.TryGetProperty("type", out JsonElement type) || !type.ValueEquals("function"))
                    {
                        continue;
                    }

                    function = tool;
                    break;
                default:
                    function = tool;
                    break;
            }

            string toolName = function.GetProperty("name").GetString()!;
            if (choiceName is null || choiceName == toolName)
            {
                name = toolName;
                function.TryGetProperty(shape == ToolShape.AnthropicTool ? "input_schema" : "parameters", out schema);
                return true;
            }
        }

        return false;
    }
}
