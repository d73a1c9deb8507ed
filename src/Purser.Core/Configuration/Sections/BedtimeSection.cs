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
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var path = "bedtime[" + i.ToString(CultureInfo.InvariantCulture) + "]";
            var before = ErrorCount;
            if (!TryMapping(sequence.Children[i], path, out var map))
            {
                continue;
            }

            var line = map.Start.Line;
            var fields = Fields(map, path, BedtimeFields);
            ScopeRef? scope = null;
            if (!fields.TryGetValue("scope", out var scopeNode))
            {
                Error(line, path + ".scope", "is required (key:<key> or team:<team>)");
            }
            else if (TryScalar(scopeNode, path + ".scope", out var scopeText))
            {
                scope = new BudgetsSection(Diagnostics).ParseBudgetScope(scopeText, path + ".scope", new BudgetScopes(organization, teams, keys, [], models));
                if (scope is { Kind: ScopeKind.Organization })
                {
                    Error(scopeText.Line, path + ".scope", "Bedtime Mode watches a key or a team (key:<key> or team:<team>)");
                    scope = null;
                }
                else if (scope is { } s && !scopes.TryAdd(s.ToString(), path))
                {
                    Error(scopeText.Line, path + ".scope", $"{scopeText.Describe()} already has a bedtime policy ({scopes[s.ToString()]})");
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
            if (fields.TryGetValue("multiplier", out var multiplierNode) && TryScalar(multiplierNode, path + ".multiplier", out var multiplierText))
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
                if (!models.TryGetValue(degradeText.Value, out var model) || model.Kind != ModelKind.Chat)
                {
                    Error(degradeText.Line, path + ".degrade_model", $"{degradeText.Describe()} is not a chat model alias of this configuration");
                }
                else
                {
                    degrade = degradeText.Value;
                }
            }

            if (ErrorCount == before && scope is { } ok)
            {
                policies.Add(new BedtimePolicy(ok, enabled, zone, start, end, days, multiplier, floor, degrade));
            }
        }

        return policies;
    }
}
