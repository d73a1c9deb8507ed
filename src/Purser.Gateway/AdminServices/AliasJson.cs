using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Configuration;
using Purser.Ensembles;

namespace Purser.Gateway.AdminServices;

/// <summary>Routes and ensembles as the admin API shows and stores them: one JSON shape for the API, the dashboard and the store.</summary>
internal static class AliasJson
{
    private static readonly JsonWriterOptions DefinitionFormat = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The body as the stored definition: indented JSON, which every YAML parser reads as the same mapping.</summary>
    internal static string DefinitionText(JsonObject body)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, DefinitionFormat))
        {
            body.WriteTo(writer);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>A route with its effective values, in the shape PUT accepts.</summary>
    internal static JsonObject Write(RouteConfig route, string source)
    {
        var targets = new JsonArray();
        foreach (var target in route.Targets)
        {
            targets.Add((JsonNode?)target);
        }

        return new JsonObject { ["alias"] = route.Alias, ["source"] = source, ["active"] = true, ["targets"] = targets, ["cooldown_seconds"] = route.CooldownSeconds };
    }

    /// <summary>Every field with its effective value, in the shape PUT accepts, so a GET body can be edited and sent back.</summary>
    internal static JsonObject Write(EnsembleConfig ensemble, string source)
    {
        var panel = new JsonArray();
        foreach (var member in ensemble.Panel)
        {
            panel.Add((JsonNode?)new JsonObject { ["model"] = member.Model, ["temperature"] = member.Temperature, ["seed"] = member.Seed });
        }

        var guardrail = ensemble.Guardrail;
        return new JsonObject
        {
            ["alias"] = ensemble.Alias,
            ["source"] = source,
            ["active"] = true,
            ["panel"] = panel,
            ["judge"] = new JsonObject { ["model"] = ensemble.Judge, ["synthesis_prompt"] = ensemble.SynthesisPrompt },
            ["min_responses"] = ensemble.MinResponses,
            ["timeout_ms"] = ensemble.TimeoutMs,
            ["max_total_tokens"] = guardrail.MaxTotalTokens,
            ["max_panel_calls"] = guardrail.MaxPanelCalls,
            ["max_cost_usd"] = guardrail.MaxCostUsd?.ToString(),
            ["on_exceed"] = guardrail.OnExceed == ExceedAction.Fail ? "fail" : "degrade",
            ["degrade_to"] = guardrail.DegradeTo,
        };
    }
}
