namespace Purser.Gateway.Logging;

/// <summary>Every log line of the gateway, source-generated. None carries a prompt, a completion or a key.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Configuration reloaded: {ModelCount} models, {KeyCount} keys")]
    public static partial void ConfigReloaded(ILogger logger, int modelCount, int keyCount);

    [LoggerMessage(2, LogLevel.Error, "Configuration reload rejected, the last good configuration keeps serving: {Error}")]
    public static partial void ConfigReloadRejected(ILogger logger, string error);

    [LoggerMessage(3, LogLevel.Warning, "Upstream {Provider} call for {ModelAlias} failed: {Reason}")]
    public static partial void UpstreamFailed(ILogger logger, string provider, string modelAlias, string reason);

    [LoggerMessage(4, LogLevel.Warning, "Request {RequestId}: stream from {Provider} ended without usage; settled from counted tokens ({OutputTokens} output)")]
    public static partial void StreamSettledFromCount(ILogger logger, string requestId, string provider, long outputTokens);

    [LoggerMessage(5, LogLevel.Error, "Usage store write failed; the batch will be retried")]
    public static partial void UsageWriteFailed(ILogger logger, Exception exception);

    [LoggerMessage(6, LogLevel.Information, "Purser listening on {Url}")]
    public static partial void Listening(ILogger logger, string url);

    [LoggerMessage(7, LogLevel.Warning, "Request {RequestId}: upstream {Provider} sent a malformed stream frame; the stream was ended with an error")]
    public static partial void MalformedStream(ILogger logger, string requestId, string provider);

    [LoggerMessage(8, LogLevel.Error, "Writing a {EventType} event failed")]
    public static partial void EventWriteFailed(ILogger logger, string eventType, Exception exception);

    [LoggerMessage(9, LogLevel.Warning, "Charged {Count} expired budget holds in full")]
    public static partial void HoldsExpired(ILogger logger, int count);

    [LoggerMessage(10, LogLevel.Error, "Expiring budget holds failed")]
    public static partial void HoldExpiryFailed(ILogger logger, Exception exception);

    [LoggerMessage(11, LogLevel.Warning, "Route {Route}: target {Target} failed ({Reason}); trying the next")]
    public static partial void RouteFailover(ILogger logger, string route, string target, string reason);

    [LoggerMessage(12, LogLevel.Information, "Request {RequestId}: ensemble {Ensemble} {Outcome}")]
    public static partial void EnsembleOutcome(ILogger logger, string requestId, string ensemble, string outcome);

    [LoggerMessage(13, LogLevel.Error, "The webhook delivery loop failed; it runs again on its next tick")]
    public static partial void WebhookPumpFailed(ILogger logger, Exception exception);

    [LoggerMessage(14, LogLevel.Warning, "Webhook {EndpointId} delivery {DeliveryId} attempt {Attempt} failed: {Reason}")]
    public static partial void WebhookAttemptFailed(ILogger logger, string endpointId, string deliveryId, int attempt, string reason);

    [LoggerMessage(15, LogLevel.Warning, "A route or ensemble created through the admin API is not in effect: {Error}")]
    public static partial void StoredAliasSkipped(ILogger logger, string error);

    [LoggerMessage(1701, LogLevel.Warning, "Budget gauges: the ledger could not be read; no budget points in this collection")]
    public static partial void BudgetGaugesUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(40, LogLevel.Error, "Request {RequestId} failed unexpectedly; answered 500 and recorded")]
    public static partial void RequestFailedUnexpectedly(ILogger logger, string requestId, Exception exception);

    [LoggerMessage(1601, LogLevel.Warning, "Response {ResponseId}: its route could not be written to the store ({Reason}); this instance still knows it, others will not")]
    public static partial void ResponseRouteNotStored(ILogger logger, string responseId, string reason);

    [LoggerMessage(1602, LogLevel.Error, "Settling background responses failed")]
    public static partial void BackgroundSweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(1603, LogLevel.Warning, "Background response {ResponseId} at {Provider}: {Outcome}; its hold of {Amount} is charged in full")]
    public static partial void BackgroundChargedInFull(ILogger logger, string responseId, string provider, string outcome, string amount);

    [LoggerMessage(41, LogLevel.Warning, "Request {RequestId}: upstream {Provider} reported usage the request could not have produced; charged its hold")]
    public static partial void ImplausibleUsage(ILogger logger, string requestId, string provider);

    [LoggerMessage(1501, LogLevel.Warning, "A rate limit created through the admin API is not in effect: {Error}")]
    public static partial void StoredRateLimitSkipped(ILogger logger, string error);

    [LoggerMessage(1502, LogLevel.Warning, "Returning unused rate-limit slices to the shared buckets failed; their units are lost until the buckets refill")]
    public static partial void RateSliceReturnFailed(ILogger logger, Exception exception);

    [LoggerMessage(2001, LogLevel.Error, "Expiring budget reservations failed")]
    public static partial void ReservationExpiryFailed(ILogger logger, Exception exception);
}
