using System.Net;
using System.Net.Http.Headers;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Upstream;

/// <summary>
/// The body of an upstream request over a pooled buffer, which notes the moment its bytes start to leave: from then
/// on the provider may bill the call, so a failure is no longer free (see <see cref="UpstreamClient"/>).
/// </summary>
internal sealed class MeteredContent : HttpContent
{
    private static readonly MediaTypeHeaderValue JsonMediaType = new("application/json");
    private readonly ReadOnlyMemory<byte> _body;
    private int _sent;

    public MeteredContent(ReadOnlyMemory<byte> body)
    {
        _body = body;
        Headers.ContentType = JsonMediaType;
    }

    /// <summary>Whether the HTTP stack started writing this body to a connection.</summary>
    public bool Sent => Volatile.Read(ref _sent) == 1;

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _sent, 1);
        await stream.WriteAsync(_body, cancellationToken).ConfigureAwait(false);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _body.Length;
        return true;
    }

    /// <summary>The content over what <paramref name="buffer"/> holds; the buffer must outlive the request.</summary>
    public static MeteredContent Over(PooledBufferWriter buffer) => new(buffer.WrittenMemory);
}
