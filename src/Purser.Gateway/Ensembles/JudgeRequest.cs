using System.Text;
using System.Text.Json.Nodes;
using Purser.Gateway.Routing;

namespace Purser.Gateway.Ensembles;

/// <summary>
/// The judge's request: the synthesis prompt as the system message, and one user message holding the conversation as
/// text and every candidate answer. Flattening keeps the judge request valid for any provider (no tool-call turns,
/// no consecutive same-role messages), and bounds its input by its bytes like any other request.
/// </summary>
internal static class JudgeRequest
{
    public static JsonObject Build(JsonObject callerRequest, string synthesisPrompt, IReadOnlyList<SubCallResult> answers)
    {
        var text = new StringBuilder(1024);
        text.Append("Conversation:\n");
        if (callerRequest["messages"] is JsonArray messages)
        {
            foreach (var message in messages)
            {
                if (message is not JsonObject m)
                {
                    continue;
                }

                var role = m["role"] is JsonValue r && r.TryGetValue<string>(out var roleText) ? roleText : "user";
                text.Append('\n').Append(role).Append(": ");
                AppendText(text, m["content"]);
            }
        }

        text.Append("\n\nCandidate answers:");
        for (var i = 0; i < answers.Count; i++)
        {
            text.Append("\n\n### Answer ").Append(i + 1).Append('\n').Append(AnswerText(answers[i].Response));
        }

        return new JsonObject
        {
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "system", ["content"] = synthesisPrompt },
                new JsonObject { ["role"] = "user", ["content"] = text.ToString() }),
        };
    }

    /// <summary>The text of a chat.completion's first choice ("" when it answered with tool calls only).</summary>
    public static string AnswerText(JsonObject? response) =>
        response?["choices"] is JsonArray { Count: > 0 } choices
        && choices[0]?["message"]?["content"] is JsonValue content && content.TryGetValue<string>(out var text) ? text : "";

    public static string? FinishReason(JsonObject? response) =>
        response?["choices"] is JsonArray { Count: > 0 } choices
        && choices[0]?["finish_reason"] is JsonValue reason && reason.TryGetValue<string>(out var text) ? text : null;

    private static void AppendText(StringBuilder text, JsonNode? content)
    {
        if (content is JsonValue value && value.TryGetValue<string>(out var plain))
        {
            text.Append(plain);
            return;
        }

        if (content is not JsonArray parts)
        {
            return;
        }

        foreach (var part in parts)
        {
            if (part?["text"] is JsonValue partText && partText.TryGetValue<string>(out var s))
            {
                text.Append(s);
            }
        }
    }
}
