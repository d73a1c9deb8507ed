using Purser.Budgets;
using Purser.Gateway.Budgets;
using Purser.Gateway.Telemetry;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Gateway.Proxy;

/// <summary>
/// The last step of every request: settle its hold in the ledger to the actual cost, and hand its one usage record to
/// the sink (which never blocks). The ledger and the usage records are charged the same amount, so after quiescence
/// spent equals the sum of the records.
/// </summary>
internal sealed class UsageRecorder
{
    private readonly IUsageSink _sink;
    private readonly IBudgetLedger _ledger;
    private readonly BudgetEvents _events;
    private readonly TimeProvider _time;

    public UsageRecorder(IUsageSink sink, IBudgetLedger ledger, BudgetEvents events, TimeProvider time)
    {
        _sink = sink;
        _ledger = ledger;
        _events = events;
        _time = time;
    }

    public ValueTask<BudgetStanding> FinishAsync(CallRecord call, int status, string? errorCode, TokenUsage usage, UsageSource source, ModelPrice price) =>
        FinishAsync(call, status, errorCode, usage, source, source == UsageSource.None ? Money.Zero : price.Cost(usage), call.Admission?.Degraded);

    /// <summary>For a request made of several calls at different prices (an ensemble): the summed cost, and how it was degraded.</summary>
    public async ValueTask<BudgetStanding> FinishAsync(CallRecord call, int status, string? errorCode, TokenUsage usage, UsageSource source, Money cost, string? degraded)
    {
        var standing = BudgetStanding.None;
        if (call.Admission is { } admission)
        {
            var tokens = source == UsageSource.None ? 0 : usage.TotalTokens;
            standing = await admission.SettleAsync(_ledger, cost, tokens).ConfigureAwait(false);
            _events.AfterSettle(call, admission, cost);
        }

        var elapsed = _time.GetElapsedTime(call.StartedTimestamp);
        GatewayMetrics.Finished(call, status, errorCode, usage, source, cost, elapsed);
        _sink.Record(new UsageRecord
        {
            RequestId = call.RequestId,
            Timestamp = _time.GetUtcNow(),
            KeyId = call.KeyId,
            ModelAlias = call.ModelAlias,
            Provider = call.Provider,
            UpstreamModel = call.UpstreamModel,
            Operation = call.Operation,
            Tokens = usage,
            Cost = cost,
            Status = status,
            ErrorCode = errorCode,
            LatencyMs = (long)elapsed.TotalMilliseconds,
            Streamed = call.Streamed,
            Source = source,
            TaskScope = call.TaskScope,
            Degraded = degraded,
        });
        Bedtime.BedtimeVerdict.Settled(call.Bedtime, cost, _time.GetUtcNow());
        return standing;
    }
}
