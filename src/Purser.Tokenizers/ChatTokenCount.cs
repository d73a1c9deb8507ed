using System.Text.Json.Nodes;
using Microsoft.ML.Tokenizers;
using Purser.Pricing;

namespace Purser.Tokenizers;

/// <summary>
/// The input tokens of an OpenAI chat request, counted the way OpenAI bills them: the model's own tokeniser
/// (o200k_base or cl100k_base; o200k_base for a model without a public one, the encoding of every current OpenAI
/// model) and OpenAI's published overheads — 3 per message, 1 more per name, 3 for the reply primer (the OpenAI
/// cookbook's <c>num_tokens_from_messages</c>); function tools by the cookbook's formula (7 per function, or 10 for
/// gpt-3.5/gpt-4, 3 for its properties, 3 per property, enums −3 + 3 per item, 12 at the end); images by OpenAI's
/// published image formula (<see cref="ImageTokens"/>). What backs <c>/v1/messages/count_tokens</c> for OpenAI-format models.
/// </summary>
public static class ChatTokenCount
{
    private const int PerMessage = 3;
    private const int PerName = 1;
    private const int ReplyPrimer = 3;
    private const int PropertiesInit = 3;
    private const int PerProperty = 3;
    private const int EnumInit = -3;
    private const int PerEnumItem = 3;
    private const int FunctionsEnd = 12;

    /// <summary>The input tokens of <paramref name="request"/> (an OpenAI chat body) sent to <paramref name="upstreamModel"/>.</summary>
    public static long Count(JsonObject request, string upstreamModel)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(upstreamModel);
        var tokenizer = ExactInputTokens.For(upstreamModel) ?? ExactInputTokens.O200k.Value;
        long tokens = ReplyPrimer;
        if (request["messages"] is JsonArray messages)
        {
            foreach (var node in messages)
            {
                if (node is JsonObject message)
                {
                    tokens += Message(message, tokenizer, upstreamModel);
                }
            }
        }

        if (request["tools"] is JsonArray { Count: > 0 } tools)
        {
            var legacy = upstreamModel.StartsWith("gpt-3.5", StringComparison.Ordinal)
                || (upstreamModel.StartsWith("gpt-4", StringComparison.Ordinal) && !upstreamModel.StartsWith("gpt-4o", StringComparison.Ordinal)
                    && !upstreamModel.StartsWith("gpt-4.", StringComparison.Ordinal));
            foreach (var node in tools)
            {
                if (node is JsonObject { } tool && tool["function"] is JsonObject function)
                {
                    tokens += Function(function, tokenizer, legacy ? 10 : 7);
                }
            }

            tokens += FunctionsEnd;
        }

        return tokens;
    }

    private static long Message(JsonObject message, Tokenizer tokenizer, string upstreamModel)
    {
        long tokens = PerMessage;
        foreach (var (name, value) in message)
        {
            switch (value)
            {
                case JsonValue v when v.TryGetValue<string>(out var text):
                    tokens += tokenizer.CountTokens(text);
                    if (name == "name")
                    {
                        tokens += PerName;
                    }

                    break;
                case JsonArray parts when name == "content":
                    foreach (var part in parts)
                    {
                        tokens += Part(part as JsonObject, tokenizer, upstreamModel);
                    }

                    break;
                case JsonArray calls when name == "tool_calls":
                    foreach (var call in calls)
                    {
                        if (call is JsonObject { } c && c["function"] is JsonObject f)
                        {
                            tokens += tokenizer.CountTokens(Text(f["name"])) + tokenizer.CountTokens(Text(f["arguments"]));
                        }
                    }

                    break;
            }
        }

        return tokens;
    }

    private static long Part(JsonObject? part, Tokenizer tokenizer, string upstreamModel)
    {
        if (part is null)
        {
            return 0;
        }

        switch (Text(part["type"]))
        {
            case "text":
                return tokenizer.CountTokens(Text(part["text"]));
            case "image_url":
                var image = part["image_url"] as JsonObject;
                var url = Text(image?["url"]);
                var detail = Text(image?["detail"]) switch { "low" => ImageDetail.Low, "high" => ImageDetail.High, _ => ImageDetail.Auto };
                int width = 0, height = 0;
                if (url.StartsWith("data:", StringComparison.Ordinal))
                {
                    ImageSize.TryRead(url, out width, out height);
                }

                var input = new ImageInput(width, height, detail);
                return ImageTokens.Bound(input, upstreamModel, anthropic: false) ?? ImageTokens.Bound(input, "gpt-4o", anthropic: false) ?? 0;
            default:
                return 0;
        }
    }

    private static long Function(JsonObject function, Tokenizer tokenizer, int functionInit)
    {
        long tokens = functionInit;
        tokens += tokenizer.CountTokens(Text(function["name"]) + ":" + Text(function["description"]).TrimEnd('.'));
        if (function["parameters"] is JsonObject parameters && parameters["properties"] is JsonObject { Count: > 0 } properties)
        {
            tokens += PropertiesInit;
            foreach (var (key, node) in properties)
            {
                tokens += PerProperty;
                var property = node as JsonObject;
                if (property?["enum"] is JsonArray values)
                {
                    tokens += EnumInit;
                    foreach (var item in values)
                    {
                        tokens += PerEnumItem + tokenizer.CountTokens(item is JsonValue iv && iv.TryGetValue<string>(out var s) ? s : item?.ToJsonString() ?? "");
                    }
                }

                var type = property?["type"] is JsonValue tv && tv.TryGetValue<string>(out var typeText) ? typeText : property?["type"]?.ToJsonString() ?? "";
                tokens += tokenizer.CountTokens(key + ":" + type + ":" + Text(property?["description"]).TrimEnd('.'));
            }
        }

        return tokens;
    }

    private static string Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";
}
