using Purser.Pricing;
using Purser.Usage;

namespace Purser.Gateway.Proxy;

/// <summary>Turns a finished call into its one usage record and hands it to the sink (which never blocks).</summary>
internal sealed class UsageRecorder
{
    private readonly IUsageSink _sink;
    private readonly TimeProvider _time;

    public UsageRecorder(IUsageSink sink, TimeProvider time)
    {
        _sink = sink;
        _time = time;
    }

    public void Record(CallRecord call, int status, string? errorCode, TokenUsage usage, UsageSource source, ModelPrice price)
    {
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
            Cost = source == UsageSource.None ? Money.Zero : price.Cost(usage),
            Status = status,
            ErrorCode = errorCode,
            LatencyMs = (long)_time.GetElapsedTime(call.StartedTimestamp).TotalMilliseconds,
            Streamed = call.Streamed,
            Source = source,
        });
    }
}
