namespace Purser.Gateway.Pipeline;

/// <summary>
/// What the request path has learned about one call so far; becomes its usage record at the end. It is finished
/// exactly once (<see cref="UsageRecorder"/>): the first finish settles the hold and writes the record, any later one
/// is ignored, and the pipeline's last step finishes it whatever happened before (see <see cref="Metering"/>).
/// </summary>
internal sealed class CallRecord
{
    private int _finished;
    private int _upstreamSent;

    public CallRecord(string requestId, string keyId, string operation, long startedTimestamp)
    {
        RequestId = requestId;
        KeyId = keyId;
        Operation = operation;
        StartedTimestamp = startedTimestamp;
    }

    public string RequestId { get; }

    public string KeyId { get; }

    public string Operation { get; }

    public long StartedTimestamp { get; }

    public string ModelAlias { get; set; } = "";

    public string Provider { get; set; } = "";

    public string UpstreamModel { get; set; } = "";

    public bool Streamed { get; set; }

    /// <summary>An upper bound on the prompt's tokens (<see cref="Purser.Pricing.WorstCases"/>): held before the call, and settled for a stream that ended without usage.</summary>
    public long InputTokenBound { get; set; }

    /// <summary>The task scope named by x-budget-scope, if any.</summary>
    public string? TaskScope { get; set; }

    /// <summary>Who the request is for (end user, tags), once its budget headers were read; null before.</summary>
    public Budgets.CallerContext? Caller { get; set; }

    /// <summary>The request's hold on its budgets, once admitted; settled by the last step.</summary>
    public Budgets.Admission? Admission { get; set; }

    /// <summary>
    /// Whether any request bytes of this call reached a provider: from then on the call is never free (invariant 2),
    /// so an ending with no known usage is charged by <see cref="Metering.Unknown"/>.
    /// </summary>
    public bool UpstreamSent => Volatile.Read(ref _upstreamSent) == 1;

    /// <summary>Whether the call's usage record was written (and its hold settled).</summary>
    public bool Finished => Volatile.Read(ref _finished) == 1;

    /// <summary>What bytes sent upstream but not answered in a readable way are charged: the price of the model called.</summary>
    public Pricing.ModelPrice Price { get; set; } = Pricing.ModelPrice.Free;

    /// <summary>Whether the model's output cannot be counted from what is relayed (hidden reasoning): an unknown ending is charged the hold in full.</summary>
    public bool HiddenOutput { get; set; }

    /// <summary>The call as metrics and events name it.</summary>
    public Telemetry.CallSubject Subject => new(RequestId, KeyId, Operation, ModelAlias, Provider, UpstreamModel);

    public void MarkSent() => Volatile.Write(ref _upstreamSent, 1);

    /// <summary>Claims the one finish of this call; false when it was already finished.</summary>
    public bool TryFinish() => Interlocked.Exchange(ref _finished, 1) == 0;

    /// <summary>What the request took from its rate limits; its tokens settled at the finish, its concurrency freed when the frame ends.</summary>
    public Budgets.RateTicket? RateTicket { get; set; }

    /// <summary>The caller's standing against its tightest rate limits, as sent in the response headers.</summary>
    public Budgets.RateStanding RateStanding { get; set; }

    /// <summary>The caller's scopes watched by Bedtime Mode, charged when the request settles; null when none is.</summary>
    public Bedtime.BedtimeWatch[]? Bedtime { get; set; }
}
