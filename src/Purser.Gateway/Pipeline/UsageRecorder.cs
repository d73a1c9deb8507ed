using Purser.Budgets;
using Purser.Gateway.Budgets;
using Purser.Gateway.Telemetry;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Gateway.Pipeline;

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

    /// <summary>Finishes with a charge computed by <see cref="Metering"/>.</summary>
    public ValueTask<BudgetStanding> FinishAsync(CallRecord call, int status, string? errorCode, Metering.Charge charge) =>
        FinishAsync(call, status, errorCode, charge.Usage, charge.Source, charge.Cost, call.Admission?.Degraded);

    /// <summary>For a request made of several calls at different prices (an ensemble): the summed cost, and how it was degraded.</summary>
    public async ValueTask<BudgetStanding> FinishAsync(CallRecord call, int status, string? errorCode, TokenUsage usage, UsageSource source, Money cost, string? degraded)
    {
        // Exactly once: the first ending of a call is its record; the pipeline's safety net finishes a call that no
        // step did, and must not write a second record.
        if (!call.TryFinish())
        {
            return BudgetStanding.None;
        }

        // The rate limits' worst-case tokens become what the request used (nothing when no byte went upstream).
        call.RateTicket?.Settle(source == UsageSource.None ? 0 : usage.TotalTokens);
        var standing = BudgetStanding.None;
        if (call.Admission is { } admission)
        {
            var tokens = source == UsageSource.None ? 0 : usage.TotalTokens;
            standing = await admission.SettleAsync(_ledger, cost, tokens).ConfigureAwait(false);
            _events.AfterSettle(call.Subject, admission, cost);
        }

        var elapsed = _time.GetElapsedTime(call.StartedTimestamp);
        GatewayMetrics.Finished(call.Subject, status, errorCode, usage, source, cost, elapsed);
        _sink.Record(new UsageRecord
        {
            RequestId = call.RequestId,
            Timestamp = _time.GetUtcNow(),
            KeyId = call.KeyId,
            ModelAlias = Bounded(call.ModelAlias),
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
            EndUser = call.Caller?.EndUser,
            Tags = call.Caller?.TagList,
            Degraded = degraded,
        });
        Bedtime.BedtimeVerdict.Settled(call.Bedtime, cost, _time.GetUtcNow());
        return standing;
    }

    /// <summary>The longest model string a usage record keeps: a refused request's model is the caller's to choose.</summary>
    public const int MaxModelLength = 256;

    private static string Bounded(string alias) => alias.Length <= MaxModelLength ? alias : alias[..MaxModelLength];
}
