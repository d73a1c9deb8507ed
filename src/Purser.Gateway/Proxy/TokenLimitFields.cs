using System.Text.Json.Nodes;

namespace Purser.Gateway.Proxy;

/// <summary>
/// The output limit of an OpenAI-format upstream body, written so that the upstream applies exactly the limit held:
/// every limit field the body carries (<c>max_tokens</c>, <c>max_completion_tokens</c>) gets the held value when the
/// gateway sets it (the caller sent none, or admission lowered it), and a provider that wants
/// <c>max_completion_tokens</c> gets that name in place of <c>max_tokens</c> (moved to the end, as
/// <see cref="PassThroughBody"/> writes it). A caller's two fields that disagree never get here: the request is refused
/// with a 400 before any hold.
/// </summary>
internal static class TokenLimitFields
{
    public const string MaxTokens = "max_tokens";
    public const string MaxCompletionTokens = "max_completion_tokens";

    /// <param name="body">The upstream body, after every other field is in place.</param>
    /// <param name="set">The held limit when the gateway sets it; null keeps the caller's own (equal to the held) value.</param>
    /// <param name="usesMaxCompletionTokens">The provider reads only <c>max_completion_tokens</c>.</param>
    public static void Apply(JsonObject body, int? set, bool usesMaxCompletionTokens)
    {
        var hasMaxTokens = body.ContainsKey(MaxTokens);
        var hasMaxCompletionTokens = body.ContainsKey(MaxCompletionTokens);
        if (usesMaxCompletionTokens && hasMaxTokens)
        {
            var value = set is { } limit ? JsonValue.Create(limit) : body[MaxTokens]?.DeepClone();
            body.Remove(MaxTokens);
            body.Remove(MaxCompletionTokens);
            body[MaxCompletionTokens] = value;
            return;
        }

        if (set is not { } held)
        {
            return;
        }

        if (hasMaxCompletionTokens)
        {
            body[MaxCompletionTokens] = held;
        }

        if (hasMaxTokens)
        {
            body[MaxTokens] = held;
        }

        if (!hasMaxTokens && !hasMaxCompletionTokens)
        {
            body[usesMaxCompletionTokens ? MaxCompletionTokens : MaxTokens] = held;
        }
    }
}
