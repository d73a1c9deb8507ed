using System.Globalization;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Budgets;

/// <summary>
/// Where the caller stands against its tightest rate limits, under the provider's own header names so that SDKs and
/// dashboards built for them read it: <c>x-ratelimit-{limit,remaining,reset}-{requests,tokens}</c> for OpenAI-format
/// callers (reset as a duration such as <c>1s</c> or <c>6m0s</c>), <c>anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}</c>
/// for Anthropic-format callers (reset as an RFC 3339 time).
/// </summary>
internal static class RateLimitHeaders
{
    public static void Apply(HttpResponse response, in RateStanding standing, ApiFormat format, DateTimeOffset now)
    {
        if (!standing.Any || response.HasStarted)
        {
            return;
        }

        var headers = response.Headers;
        if (format == ApiFormat.Anthropic)
        {
            if (standing.HasRequests)
            {
                headers["anthropic-ratelimit-requests-limit"] = Number(standing.RequestLimit);
                headers["anthropic-ratelimit-requests-remaining"] = Number(standing.RequestsRemaining);
                headers["anthropic-ratelimit-requests-reset"] = Instant(now, standing.RequestsResetMs);
            }

            if (standing.HasTokens)
            {
                headers["anthropic-ratelimit-tokens-limit"] = Number(standing.TokenLimit);
                headers["anthropic-ratelimit-tokens-remaining"] = Number(standing.TokensRemaining);
                headers["anthropic-ratelimit-tokens-reset"] = Instant(now, standing.TokensResetMs);
            }

            return;
        }

        if (standing.HasRequests)
        {
            headers["x-ratelimit-limit-requests"] = Number(standing.RequestLimit);
            headers["x-ratelimit-remaining-requests"] = Number(standing.RequestsRemaining);
            headers["x-ratelimit-reset-requests"] = Duration(standing.RequestsResetMs);
        }

        if (standing.HasTokens)
        {
            headers["x-ratelimit-limit-tokens"] = Number(standing.TokenLimit);
            headers["x-ratelimit-remaining-tokens"] = Number(standing.TokensRemaining);
            headers["x-ratelimit-reset-tokens"] = Duration(standing.TokensResetMs);
        }
    }

    /// <summary>
    /// OpenAI's duration format (Go's): <c>0s</c>, <c>250ms</c> below a second, else whole seconds rounded up as
    /// <c>1s</c>, <c>6m0s</c>, <c>1h0m0s</c>.
    /// </summary>
    public static string Duration(long ms)
    {
        if (ms <= 0)
        {
            return "0s";
        }

        if (ms < 1000)
        {
            return ms.ToString(CultureInfo.InvariantCulture) + "ms";
        }

        var seconds = (ms + 999) / 1000;
        var hours = seconds / 3600;
        var minutes = seconds / 60 % 60;
        var rest = seconds % 60;
        return hours > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{hours}h{minutes}m{rest}s")
            : minutes > 0
                ? string.Create(CultureInfo.InvariantCulture, $"{minutes}m{rest}s")
                : string.Create(CultureInfo.InvariantCulture, $"{rest}s");
    }

    /// <summary>RFC 3339 in UTC, to the second, rounded up: the time at which the bucket is full again.</summary>
    public static string Instant(DateTimeOffset now, long ms) =>
        now.AddMilliseconds((ms + 999) / 1000 * 1000).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
