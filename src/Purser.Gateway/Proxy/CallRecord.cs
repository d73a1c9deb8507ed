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

    /// <summary>
    /// An upper bound on the prompt's tokens: the UTF-8 size of the upstream request body. Tokenisers emit at least one
    /// byte of text per token, so this never falls below the real count; it settles a stream that ended without usage.
    /// </summary>
    public long InputTokenBound { get; set; }
}
