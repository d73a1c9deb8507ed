using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;

namespace Purser.Gateway.Bedtime;

/// <summary>Bedtime's answer for a request: go on, refuse with a 402, or serve a configured model instead.</summary>
/// <param name="Watches">The caller's watched scopes, to charge when the request settles; null when none is watched.</param>
internal readonly record struct BedtimeVerdict(GatewayError? Error, ResolvedModel? DegradeTo, string? DegradeAlias, BedtimeWatch[]? Watches)
{
    public static readonly BedtimeVerdict None = new(null, null, null, null);

    /// <summary>Charges every watched scope of a settled request.</summary>
    public static void Settled(BedtimeWatch[]? watches, Pricing.Money cost, DateTimeOffset now)
    {
        if (watches is null)
        {
            return;
        }

        foreach (var watch in watches)
        {
            watch.Add(cost, now);
        }
    }
}
