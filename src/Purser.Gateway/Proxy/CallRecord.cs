namespace Purser.Gateway.Proxy;

/// <summary>What the request path has learned about one call so far; becomes its usage record at the end.</summary>
internal sealed class CallRecord
{
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

    /// <summary>An upper bound on the prompt's tokens (<see cref="InputTokenBound"/>): held before the call, and settled for a stream that ended without usage.</summary>
    public long InputTokenBound { get; set; }

    /// <summary>The task scope named by x-budget-scope, if any.</summary>
    public string? TaskScope { get; set; }

    /// <summary>The request's hold on its budgets, once admitted; settled by the last step.</summary>
    public Budgets.Admission? Admission { get; set; }

    /// <summary>The caller's scopes watched by Bedtime Mode, charged when the request settles; null when none is.</summary>
    public Bedtime.BedtimeWatch[]? Bedtime { get; set; }
}
