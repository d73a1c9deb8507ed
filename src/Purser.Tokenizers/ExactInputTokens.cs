using System.Text;
using System.Text.Json.Nodes;
using Microsoft.ML.Tokenizers;
using Purser.Pricing;

namespace Purser.Tokenizers;

/// <summary>
/// A tighter text bound for OpenAI-family models, whose tokenisers are public (o200k_base, cl100k_base): each message's
/// text is counted exactly and the rest of the body stays bounded by its bytes. Used only when the byte bound would
/// refuse or degrade a request (the gateway's budget admission), so a request that fits costs nothing more.
/// <para>
/// Why it is an upper bound: the body's bytes bound every token of the body as before, except that each message's
/// text strings are replaced by their exact token count — a decoded string's UTF-8 length is never more than its JSON
/// form, so what is subtracted was in the body — plus OpenAI's published per-message overhead (3 tokens, 4 with a name,
/// held as 4 + the role's and name's own tokens) and 3 for the reply primer. Tool definitions, response formats and
/// everything else stay counted by their bytes.
/// </para>
/// </summary>
public static class ExactInputTokens
{
    private const int PerMessage = 4;
    private const int ReplyPrimer = 3;

    internal static readonly Lazy<Tokenizer> O200k = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));
    private static readonly Lazy<Tokenizer> Cl100k = new(() => TiktokenTokenizer.CreateForEncoding("cl100k_base"));

    /// <summary>Whether <paramref name="upstreamModel"/> (served by OpenAI) has a public tokeniser.</summary>
    public static bool Knows(string upstreamModel) => For(upstreamModel) is not null;

    /// <summary>
    /// A copy of <paramref name="shape"/> whose text bound counts the messages of <paramref name="request"/> (an OpenAI
    /// chat body sent as is to <paramref name="upstreamModel"/> at OpenAI) exactly; null when there is no public
    /// tokeniser, or the count would not be tighter.
    /// </summary>
    public static RequestShape? Tighten(RequestShape shape, JsonObject request, string upstreamModel)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(request);
        return For(upstreamModel) is { } tokenizer ? Tighten(shape, request, tokenizer) : null;
    }

    internal static Tokenizer? For(string upstreamModel)
    {
        ArgumentNullException.ThrowIfNull(upstreamModel);
        if (upstreamModel.StartsWith("gpt-4o", StringComparison.Ordinal) || upstreamModel.StartsWith("gpt-4.1", StringComparison.Ordinal)
            || upstreamModel.StartsWith("gpt-4.5", StringComparison.Ordinal) || upstreamModel.StartsWith("gpt-5", StringComparison.Ordinal)
            || upstreamModel.StartsWith("o1", StringComparison.Ordinal) || upstreamModel.StartsWith("o3", StringComparison.Ordinal)
            || upstreamModel.StartsWith("o4", StringComparison.Ordinal))
        {
            return O200k.Value;
        }

        if (upstreamModel.StartsWith("gpt-4", StringComparison.Ordinal) || upstreamModel.StartsWith("gpt-3.5", StringComparison.Ordinal))
        {
            return Cl100k.Value;
        }

        return null;
    }

    private static RequestShape? Tighten(RequestShape shape, JsonObject request, Tokenizer tokenizer)
    {
        if (request["messages"] is not JsonArray messages)
        {
            return null;
        }

        long removedBytes = 0;
        long tokens = ReplyPrimer;
        foreach (var node in messages)
        {
            if (node is not JsonObject message)
            {
                continue;
            }

            tokens += PerMessage;
            foreach (var field in (ReadOnlySpan<string>)["role", "name"])
            {
                if (message[field] is JsonValue v && v.TryGetValue<string>(out var text))
                {
                    tokens += tokenizer.CountTokens(text);
                }
            }

            switch (message["content"])
            {
                case JsonValue value when value.TryGetValue<string>(out var content):
                    removedBytes += Encoding.UTF8.GetByteCount(content);
                    tokens += tokenizer.CountTokens(content);
                    break;
                case JsonArray parts:
                    foreach (var part in parts)
                    {
                        if (part is JsonObject p && p["type"] is JsonValue t && t.TryGetValue<string>(out var type) && type == "text"
                            && p["text"] is JsonValue tv && tv.TryGetValue<string>(out var partText))
                        {
                            removedBytes += Encoding.UTF8.GetByteCount(partText);
                            tokens += tokenizer.CountTokens(partText);
                        }
                    }

                    break;
            }
        }

        if (tokens >= removedBytes)
        {
            return null;
        }

        var tighter = RequestShape.Text(shape.TextBytes - removedBytes + tokens);
        tighter.Choices = shape.Choices;
        tighter.Tier = shape.Tier;
        tighter.CacheWrites = shape.CacheWrites;
        tighter.UnsizedContent = shape.UnsizedContent;
        tighter.Tools = shape.Tools;
        tighter.ProviderDefinedTools = shape.ProviderDefinedTools;
        tighter.Unbounded = shape.Unbounded;
        tighter.ContextWindowAtLeast = shape.ContextWindowAtLeast;
        tighter.Images.AddRange(shape.Images);
        tighter.ServerTools.AddRange(shape.ServerTools);
        return tighter;
    }
}
