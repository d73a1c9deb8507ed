namespace Purser.Gateway.Relay;

/// <summary>How a pumped stream ended: the caller left, the upstream sent a malformed frame, or it ended (or not) as its provider meant it to.</summary>
internal readonly record struct StreamEnd(bool ClientGone, bool Malformed, bool Ended)
{
    /// <summary>The usage record's error code for this ending (null for a complete stream).</summary>
    public string? ErrorCode => ClientGone ? "client_closed" : Malformed ? "upstream_malformed_stream" : Ended ? null : "upstream_stream_cut";
}
