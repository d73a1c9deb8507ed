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

/// <summary>Bedtime policies as the admin API shows them (a body is read by the bedtime section, <see cref="Purser.Configuration.AdminEntries"/>).</summary>
internal static class BedtimeJson
{
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
}
