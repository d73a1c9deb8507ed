using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Gateway.Errors;
using Purser.RateLimits;

namespace Purser.Gateway.AdminServices;

/// <summary>A rate limit as the admin API reads and writes it: the config file's entry, plus where it comes from.</summary>
internal static class RateLimitJson
{
    private static readonly string[] Numbers = ["requests_per_minute", "tokens_per_minute", "max_concurrent"];
    private static readonly string[] Texts = ["id", "scope", "model"];

    /// <summary>
    /// JSON is YAML, but YAML reads "60" and 60 alike: the admin API refuses a value of the wrong JSON type before the
    /// file's parser sees it, naming the field.
    /// </summary>
    public static GatewayError? CheckTypes(JsonObject body)
    {
        foreach (var field in Numbers)
        {
            if (body[field] is { } node && node.GetValueKind() != JsonValueKind.Number)
            {
                return new GatewayError(GatewayErrorCode.InvalidRequest, $"'{field}' must be a whole number.", field);
            }
        }

        foreach (var field in Texts)
        {
            if (body[field] is { } node && node.GetValueKind() != JsonValueKind.String)
            {
                return new GatewayError(GatewayErrorCode.InvalidRequest, $"'{field}' must be a string.", field);
            }
        }

        return null;
    }

    public static JsonObject Write(RateLimitDefinition limit, string source, int inFlight)
    {
        var json = new JsonObject
        {
            ["id"] = limit.Id,
            ["scope"] = limit.Scope.ToString(),
            ["source"] = source,
        };
        if (limit.Under is { } under)
        {
            json["under"] = under.ToString();
        }

        if (limit.Model is { } model)
        {
            json["model"] = model;
        }

        if (limit.RequestsPerMinute is { } rpm)
        {
            json["requests_per_minute"] = rpm;
        }

        if (limit.TokensPerMinute is { } tpm)
        {
            json["tokens_per_minute"] = tpm;
        }

        if (limit.MaxConcurrent is { } concurrent)
        {
            json["max_concurrent"] = concurrent;
            json["in_flight"] = inFlight;
        }

        return json;
    }
}
