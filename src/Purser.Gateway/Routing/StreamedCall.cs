using Purser.Gateway.Configuration;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Routing;

/// <summary>
/// A streamed call whose upstream answered with a success status and whose body is still to be read: the model that
/// serves it, the open response, and what keeps it alive (the request's body buffer and the upstream timeout). Or,
/// when no target opened, the last attempt's failure. Dispose when the stream is done.
/// </summary>
internal sealed class StreamedCall : IDisposable
{
    private readonly PooledBufferWriter? _buffer;
    private readonly HttpRequestMessage? _request;
    private readonly Upstream.UpstreamDeadline? _deadline;

    public StreamedCall(ResolvedModel model, HttpResponseMessage response, PooledBufferWriter buffer, HttpRequestMessage request, Upstream.UpstreamDeadline deadline)
    {
        Model = model;
        Response = response;
        _buffer = buffer;
        _request = request;
        _deadline = deadline;
        Token = deadline.Token;
    }

    public StreamedCall(SubCallResult failure) => Failure = failure;

    public ResolvedModel? Model { get; }

    public HttpResponseMessage? Response { get; }

    public SubCallResult? Failure { get; }

    /// <summary>What a route's failed attempts before this stream opened were charged (they reached the provider).</summary>
    public (Purser.Pricing.Money Cost, Purser.Usage.TokenUsage Usage) EarlierAttempts { get; set; }

    /// <summary>Cancelled when the caller goes away or the upstream timeout passes.</summary>
    public CancellationToken Token { get; }

    public void Dispose()
    {
        Response?.Dispose();
        _request?.Dispose();
        _buffer?.Dispose();
        _deadline?.Dispose();
    }
}
