using Purser.Gateway.Configuration;
using Purser.Gateway.Proxy;

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
    private readonly CancellationTokenSource? _timeout;

    public StreamedCall(ResolvedModel model, HttpResponseMessage response, PooledBufferWriter buffer, HttpRequestMessage request, CancellationTokenSource timeout)
    {
        Model = model;
        Response = response;
        _buffer = buffer;
        _request = request;
        _timeout = timeout;
        Token = timeout.Token;
    }

    public StreamedCall(SubCallResult failure) => Failure = failure;

    public ResolvedModel? Model { get; }

    public HttpResponseMessage? Response { get; }

    public SubCallResult? Failure { get; }

    /// <summary>Cancelled when the caller goes away or the upstream timeout passes.</summary>
    public CancellationToken Token { get; }

    public void Dispose()
    {
        Response?.Dispose();
        _request?.Dispose();
        _buffer?.Dispose();
        _timeout?.Dispose();
    }
}
