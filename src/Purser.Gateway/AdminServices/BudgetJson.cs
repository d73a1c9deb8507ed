using System.Globalization;
using System.Text.Json.Nodes;
using Purser.Budgets;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Pricing;

namespace Purser.Gateway.AdminServices;

/// <summary>A budget as the admin API reads and writes it, validated field by field with errors that name the field.</summary>
internal static class BudgetJson
{
    public static GatewayError? TryRead(string id, JsonObject body, GatewayState state, out BudgetDefinition budget)
    {
        budget = null!;
        if (!ScopeRef.IsValidId(id))
        {
            return Invalid("id", "must be 1–128 letters, digits, '.', '_', '-' or ':'");
        }

        if (!ScopeRef.TryParse(Text(body, "scope"), out var scope))
        {
            return Invalid("scope", "must be org:<id>, team:<id>, key:<id>, task:<id>, tag:<tag>, global or user:*");
        }

        ScopeRef? under = null;
        if (Text(body, "under") is { } underText)
        {
            if (scope.Value.Kind != ScopeKind.EndUser)
            {
                return Invalid("under", "applies to a user:* budget only");
            }

            if (!ScopeRef.TryParse(underText, out under) || under.Value.Kind is not (ScopeKind.Key or ScopeKind.Team))
            {
                return Invalid("under", "must be key:<id> or team:<id>");
            }
        }

        var model = Text(body, "model");
        if (model is not null && !state.Models.ContainsKey(model) && !state.Config.Routes.ContainsKey(model) && !state.Config.Ensembles.ContainsKey(model))
        {
            return Invalid("model", $"'{model}' is not a model alias of this gateway");
        }

        var window = BudgetWindowKind.Daily;
        if (Text(body, "window") is { } windowText && !BudgetWindows.TryParseKind(windowText, out window))
        {
            return Invalid("window", "must be " + BudgetWindows.KindList);
        }

        var zone = Text(body, "timezone") ?? "UTC";
        if (!BudgetWindows.TryFindZone(zone, out _))
        {
            return Invalid("timezone", $"'{zone}' is not an IANA time zone");
        }

        Money? capUsd = null;
        if (body["cap_usd"] is { } capNode)
        {
            if (!Money.TryParseUsd(NumberText(capNode), out var cap) || cap < Money.Zero)
            {
                return Invalid("cap_usd", "must be a USD amount of 0 or more, such as 5.00");
            }

            capUsd = cap;
        }

        long? capTokens = null;
        if (body["cap_tokens"] is { } tokensNode)
        {
            if (tokensNode is not JsonValue tv || !tv.TryGetValue<long>(out var tokens) || tokens < 0)
            {
                return Invalid("cap_tokens", "must be a whole number of tokens, 0 or more");
            }

            capTokens = tokens;
        }

        if (capUsd is null && capTokens is null)
        {
            return Invalid("cap_usd", "a budget needs cap_usd, cap_tokens or both");
        }

        var enforcement = Text(body, "enforcement") switch
        {
            null or "hard" => Enforcement.Hard,
            "soft" => Enforcement.Soft,
            _ => (Enforcement)(-1),
        };
        if ((int)enforcement < 0)
        {
            return Invalid("enforcement", "must be hard or soft");
        }

        var mode = Text(body, "mode") switch
        {
            null or "reserve" => AccountingMode.Reserve,
            "post_hoc" => AccountingMode.PostHoc,
            _ => (AccountingMode)(-1),
        };
        if ((int)mode < 0)
        {
            return Invalid("mode", "must be reserve or post_hoc");
        }

        IReadOnlyList<int> thresholds = [50, 80, 100];
        if (body["alert_thresholds"] is { } thresholdNode)
        {
            if (thresholdNode is not JsonArray array)
            {
                return Invalid("alert_thresholds", "must be a list of percentages, such as [50, 80, 100]");
            }

            var list = new List<int>(array.Count);
            foreach (var item in array)
            {
                if (item is not JsonValue v || !v.TryGetValue<int>(out var pct) || pct < 1 || pct > 100 || (list.Count > 0 && pct <= list[^1]))
                {
                    return Invalid("alert_thresholds", "must be increasing whole percentages from 1 to 100");
                }

                list.Add(pct);
            }

            thresholds = list;
        }

        DegradeOptions? degrade = null;
        if (body["degrade"] is { } degradeNode)
        {
            if (degradeNode is not JsonObject d)
            {
                return Invalid("degrade", "must be an object with fallback_model, min_max_tokens and/or throttle_rpm");
            }

            var fallback = Text(d, "fallback_model");
            if (fallback is not null && (!state.Models.TryGetValue(fallback, out var target) || target.Model.Kind != Purser.Configuration.ModelKind.Chat))
            {
                return Invalid("degrade.fallback_model", $"'{fallback}' is not a chat model of this gateway");
            }

            int? floor = null;
            if (d["min_max_tokens"] is { } floorNode)
            {
                if (floorNode is not JsonValue fv || !fv.TryGetValue<int>(out var f) || f < 1)
                {
                    return Invalid("degrade.min_max_tokens", "must be a whole number of 1 or more");
                }

                floor = f;
            }

            int? throttle = null;
            if (d["throttle_rpm"] is { } throttleNode)
            {
                // The same bounds as the file's degrade.throttle_rpm (ConfigParser.Budgets).
                // Read as a long: a value built in code (the dashboard form's) is a long, which TryGetValue<int> would refuse.
                if (throttleNode is not JsonValue tv || !tv.TryGetValue<long>(out var rpm) || rpm < 1 || rpm > Purser.RateLimits.RateLimitDefinition.MaxConcurrentCap)
                {
                    return Invalid("degrade.throttle_rpm", "must be a whole number of requests per minute from 1 to 1000000");
                }

                throttle = (int)rpm;
            }

            degrade = new DegradeOptions { FallbackModel = fallback, MinMaxTokens = floor, ThrottleRpm = throttle };
        }

        budget = new BudgetDefinition
        {
            Id = id,
            Scope = scope.Value,
            Under = under,
            Model = model,
            Window = window,
            TimeZone = zone,
            CapUsd = capUsd,
            CapTokens = capTokens,
            Enforcement = enforcement,
            Mode = mode,
            AlertThresholds = thresholds,
            Degrade = degrade,
        };
        return null;
    }

    public static JsonObject Write(BudgetDefinition budget, string source, WindowInstance window, CounterState state)
    {
        var remaining = budget.CapUsd is { } cap ? Money.Max(Money.Zero, cap - state.Spent - state.Held) : (Money?)null;
        var thresholds = new JsonArray();
        foreach (var t in budget.AlertThresholds)
        {
            thresholds.Add((JsonNode?)t);
        }

        return new JsonObject
        {
            ["id"] = budget.Id,
            ["scope"] = budget.Scope.ToString(),
            ["under"] = budget.Under?.ToString(),
            ["model"] = budget.Model,
            ["window"] = BudgetAdmission.WindowName(budget.Window),
            ["timezone"] = budget.TimeZone,
            ["cap_usd"] = budget.CapUsd?.ToString(),
            ["cap_tokens"] = budget.CapTokens,
            ["enforcement"] = budget.Enforcement == Enforcement.Hard ? "hard" : "soft",
            ["mode"] = budget.Mode == AccountingMode.Reserve ? "reserve" : "post_hoc",
            ["alert_thresholds"] = thresholds,
            ["degrade"] = budget.Degrade is { } d ? new JsonObject { ["fallback_model"] = d.FallbackModel, ["min_max_tokens"] = d.MinMaxTokens, ["throttle_rpm"] = d.ThrottleRpm } : null,
            ["source"] = source,
            ["current"] = new JsonObject
            {
                ["window_key"] = window.Key,
                ["spent"] = state.Spent.ToString(),
                ["held"] = state.Held.ToString(),
                ["remaining"] = remaining?.ToString(),
                ["spent_tokens"] = state.SpentTokens,
                ["held_tokens"] = state.HeldTokens,
                ["resets_at"] = window.ResetsAt?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            },
        };
    }

    internal static string? Text(JsonObject body, string field) =>
        body[field] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static string? NumberText(JsonNode node) => node switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v when v.TryGetValue<decimal>(out var d) => d.ToString(CultureInfo.InvariantCulture),
        _ => null,
    };

    internal static GatewayError Invalid(string field, string rule) =>
        new(GatewayErrorCode.InvalidRequest, $"'{field}' {rule}.", field);
}
