using System.Text.Json.Nodes;
using Purser.RateLimits;

namespace Purser.Gateway.AdminServices;

/// <summary>A rate limit as the admin API reads and writes it: the config file's entry, plus where it comes from.</summary>
internal static class RateLimitJson
{
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
