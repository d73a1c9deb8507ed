using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Bedtime;
using Purser.Budgets;
using Purser.Gateway.Bedtime;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Pricing;

namespace Purser.Gateway.AdminServices;

/// <summary>Bedtime policies as the admin API reads and shows them.</summary>
internal static class BedtimeJson
{
    /// <summary>Reads a policy from the admin API's JSON; every field but the scope is optional, with the SPEC's defaults.</summary>
    public static GatewayError? TryRead(string scopeText, JsonObject body, GatewayState state, out BedtimePolicy policy)
    {
        policy = null!;
        if (!ScopeRef.TryParse(scopeText, out var parsed) || parsed.Value.Kind is not (ScopeKind.Key or ScopeKind.Team))
        {
            return AdminInvalid("scope", "must be key:<key> or team:<team>");
        }

        var scope = parsed.Value;
        if (scope.Kind == ScopeKind.Team && !state.Config.Teams.ContainsKey(scope.Id))
        {
            return AdminInvalid("scope", $"'{scope.Id}' is not a team of the configuration");
        }

        if (scope.Kind == ScopeKind.Key && !state.Config.Keys.Any(k => k.Id == scope.Id) && !state.StoredKeys.Any(k => k.Id == scope.Id))
        {
            return AdminInvalid("scope", $"'{scope.Id}' is not a key");
        }

        var enabled = true;
        if (body["enabled"] is { } enabledNode)
        {
            if (enabledNode.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
            {
                return AdminInvalid("enabled", "must be true or false");
            }

            enabled = enabledNode.GetValue<bool>();
        }

        var zone = "UTC";
        if (body["timezone"] is { } zoneNode)
        {
            if (BudgetJson.Text(body, "timezone") is not { } zoneText || !BudgetWindows.TryFindZone(zoneText, out _))
            {
                return AdminInvalid("timezone", $"must be an IANA time zone such as Europe/Oslo or UTC, got {zoneNode.ToJsonString()}");
            }

            zone = zoneText;
        }

        var start = BedtimePolicy.DefaultSleepStart;
        var end = BedtimePolicy.DefaultSleepEnd;
        if (body["hours"] is { } hoursNode && !BedtimeClock.TryParseHours(BudgetJson.Text(body, "hours"), out start, out end))
        {
            return AdminInvalid("hours", $"must be sleeping hours as \"HH:mm-HH:mm\" (24-hour clock, e.g. \"23:00-07:00\"), got {hoursNode.ToJsonString()}");
        }

        var days = BedtimePolicy.DefaultBaselineDays;
        if (body["baseline_days"] is { } daysNode
            && (daysNode is not JsonValue daysValue || !daysValue.TryGetValue(out days) || days < 1 || days > 365))
        {
            return AdminInvalid("baseline_days", "must be a whole number of days from 1 to 365");
        }

        var multiplier = BedtimePolicy.DefaultMultiplier;
        if (body["multiplier"] is { } multiplierNode
            && (!TryDecimal(multiplierNode, out multiplier) || multiplier <= 1m || multiplier > 1000m))
        {
            return AdminInvalid("multiplier", "must be a number greater than 1 (and at most 1000)");
        }

        var floor = BedtimePolicy.DefaultFloor;
        if (body["floor_usd"] is { } floorNode)
        {
            if (!TryDecimal(floorNode, out var floorUsd) || floorUsd < 0 || floorUsd > 1_000_000_000m
                || !Money.TryParseUsd(floorUsd.ToString(CultureInfo.InvariantCulture), out floor))
            {
                return AdminInvalid("floor_usd", "must be a non-negative amount of USD with at most 9 decimal places");
            }
        }

        string? degrade = null;
        if (body["degrade_model"] is { } degradeNode && degradeNode.GetValueKind() != JsonValueKind.Null)
        {
            degrade = BudgetJson.Text(body, "degrade_model");
            if (degrade is null || !state.Models.TryGetValue(degrade, out var model) || model.Model.Kind != Purser.Configuration.ModelKind.Chat)
            {
                return AdminInvalid("degrade_model", "must be a chat model alias of this gateway");
            }
        }

        policy = new BedtimePolicy(scope, enabled, zone, start, end, days, multiplier, floor, degrade);
        return null;
    }

    internal static JsonObject Write(BedtimePolicy policy, BedtimeGuard bedtime, DateTimeOffset now)
    {
        var json = new JsonObject
        {
            ["scope"] = policy.Scope.ToString(),
            ["enabled"] = policy.Enabled,
            ["timezone"] = policy.TimeZone,
            ["hours"] = policy.Hours,
            ["baseline_days"] = policy.BaselineDays,
            ["multiplier"] = policy.Multiplier.ToString(CultureInfo.InvariantCulture),
            ["floor_usd"] = policy.Floor.ToString(),
            ["degrade_model"] = policy.DegradeModel,
            ["source"] = bedtime.IsFromFile(policy.Scope.ToString()) ? "config" : "api",
        };
        if (bedtime.Watch(policy.Scope.ToString()) is { } watch)
        {
            var (loaded, today, baseline, tripped, woken) = watch.Snapshot();
            var zone = watch.Zone;
            json["sleeping"] = BedtimeClock.IsSleeping(policy, zone, now, out _);
            json["tripped"] = tripped is { } until && now < until;
            json["tripped_until"] = tripped?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
            json["woken_until"] = woken is { } w && now < w ? w.UtcDateTime.ToString("O", CultureInfo.InvariantCulture) : null;
            if (loaded)
            {
                json["today_usd"] = today.ToString();
                json["baseline_usd"] = baseline.ToString();
                json["threshold_usd"] = BedtimeClock.Threshold(policy, baseline).ToString();
            }
        }

        return json;
    }

    private static bool TryDecimal(JsonNode node, out decimal value)
    {
        value = 0;
        return node is JsonValue v
            && (v.TryGetValue(out value)
                || (v.TryGetValue<string>(out var text) && decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value)));
    }

    private static GatewayError AdminInvalid(string field, string rule) => BudgetJson.Invalid(field, rule);
}
