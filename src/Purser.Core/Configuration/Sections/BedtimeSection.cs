using System.Globalization;
using Purser.Bedtime;
using Purser.Budgets;
using Purser.Pricing;
using YamlDotNet.RepresentationModel;

namespace Purser.Configuration.Sections;

/// <summary>The <c>bedtime:</c> section: one Bedtime Mode policy per key or team.</summary>
internal sealed class BedtimeSection(ConfigDiagnostics diagnostics) : SectionReader(diagnostics)
{
    private static readonly string[] BedtimeFields =
        ["scope", "enabled", "timezone", "hours", "baseline_days", "multiplier", "floor_usd", "degrade_model"];

    public List<BedtimePolicy> Read(YamlNode node, string organization, HashSet<string> teams, HashSet<string> keys, Dictionary<string, ModelConfig> models)
    {
        var policies = new List<BedtimePolicy>();
        if (!TrySequence(node, "bedtime", out var sequence))
        {
            return policies;
        }

        var scopes = new Dictionary<string, string>(StringComparer.Ordinal);
        var budgetScopes = new BudgetScopes(organization, teams, keys, [], models);
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var path = "bedtime[" + i.ToString(CultureInfo.InvariantCulture) + "]";
            if (ReadEntry(sequence.Children[i], path, null, budgetScopes, scopes) is { } policy)
            {
                policies.Add(policy);
            }
        }

        return policies;
    }

    /// <summary>
    /// One policy at <paramref name="path"/>, from the file (<paramref name="fixedScope"/> null, each scope once across
    /// <paramref name="seen"/>) or from an admin body (<paramref name="fixedScope"/> the path's scope; the body may
    /// repeat it, not differ). Null, with every error recorded, when it is invalid.
    /// </summary>
    internal BedtimePolicy? ReadEntry(YamlNode node, string path, string? fixedScope, BudgetScopes scopes, Dictionary<string, string> seen)
    {
        var before = ErrorCount;
        if (!TryMapping(node, path, out var map))
        {
            return null;
        }

        var line = map.Start.Line;
        var fields = Fields(map, path, BedtimeFields);
        ScopeRef? scope = null;
        ConfigScalar? scopeText = fixedScope is null ? null : new ConfigScalar(fixedScope, 0, null);
        if (fields.TryGetValue("scope", out var scopeNode) && TryScalar(scopeNode, path + ".scope", out var bodyScope))
        {
            if (fixedScope is not null && !string.Equals(fixedScope, bodyScope.Value, StringComparison.Ordinal))
            {
                Error(bodyScope.Line, path + ".scope", $"the body's scope {bodyScope.Describe()} differs from the scope in the path ('{fixedScope}')");
            }

            scopeText = bodyScope;
        }
        else if (scopeNode is null && fixedScope is null)
        {
            Error(line, path + ".scope", "is required (key:<key> or team:<team>)");
        }

        if (scopeText is { } text)
        {
            scope = new BudgetsSection(Diagnostics).ParseBudgetScope(text, path + ".scope", scopes);
            if (scope is { Kind: not (ScopeKind.Key or ScopeKind.Team) })
            {
                Error(text.Line, path + ".scope", "Bedtime Mode watches a key or a team (key:<key> or team:<team>)");
                scope = null;
            }
            else if (scope is { } s && !seen.TryAdd(s.ToString(), path))
            {
                Error(text.Line, path + ".scope", $"{text.Describe()} already has a bedtime policy ({seen[s.ToString()]})");
            }
        }

        var enabled = true;
        if (fields.TryGetValue("enabled", out var enabledNode) && TryBool(enabledNode, path + ".enabled", out var on))
        {
            enabled = on;
        }

        var zone = "UTC";
        if (fields.TryGetValue("timezone", out var zoneNode) && TryNonEmpty(zoneNode, path + ".timezone", out var zoneText))
        {
            if (BudgetWindows.TryFindZone(zoneText.Value, out _))
            {
                zone = zoneText.Value;
            }
            else
            {
                Error(zoneText.Line, path + ".timezone", $"unknown time zone {zoneText.Describe()} (expected an IANA name such as Europe/Oslo or UTC)");
            }
        }

        var start = BedtimePolicy.DefaultSleepStart;
        var end = BedtimePolicy.DefaultSleepEnd;
        if (fields.TryGetValue("hours", out var hoursNode) && TryScalar(hoursNode, path + ".hours", out var hoursText)
            && !BedtimeClock.TryParseHours(hoursText.Value, out start, out end))
        {
            Error(hoursText.Line, path + ".hours", $"expected sleeping hours as \"HH:mm-HH:mm\" (24-hour clock, e.g. \"23:00-07:00\"), got {hoursText.Describe()}");
        }

        var days = BedtimePolicy.DefaultBaselineDays;
        if (fields.TryGetValue("baseline_days", out var daysNode) && TryInteger(daysNode, path + ".baseline_days", 1, 365, out var parsedDays))
        {
            days = (int)parsedDays;
        }

        var multiplier = BedtimePolicy.DefaultMultiplier;
        if (fields.TryGetValue("multiplier", out var multiplierNode) && TryScalar(multiplierNode, path + ".multiplier", out var multiplierText, ScalarKind.Amount))
        {
            if (!decimal.TryParse(multiplierText.Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out multiplier) || multiplier <= 1m || multiplier > 1000m)
            {
                Error(multiplierText.Line, path + ".multiplier", $"must be a number greater than 1 (and at most 1000), got {multiplierText.Describe()}");
            }
        }

        var floor = BedtimePolicy.DefaultFloor;
        if (fields.TryGetValue("floor_usd", out var floorNode) && TryUsd(floorNode, path + ".floor_usd", out var parsedFloor))
        {
            floor = parsedFloor;
        }

        string? degrade = null;
        if (fields.TryGetValue("degrade_model", out var degradeNode) && TryScalar(degradeNode, path + ".degrade_model", out var degradeText))
        {
            if (!scopes.Models.TryGetValue(degradeText.Value, out var model) || model.Kind != ModelKind.Chat)
            {
                Error(degradeText.Line, path + ".degrade_model", $"{degradeText.Describe()} is not a chat model alias of this configuration");
            }
            else
            {
                degrade = degradeText.Value;
            }
        }

        return ErrorCount == before && scope is { } ok ? new BedtimePolicy(ok, enabled, zone, start, end, days, multiplier, floor, degrade) : null;
    }
}
