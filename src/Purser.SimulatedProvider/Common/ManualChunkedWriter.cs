using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;

namespace Purser.SimulatedProvider.Common;

/// <summary>
/// Writes HTTP/1.1 chunked framing itself, one chunk per flush, so a stream can be cut without the terminating
/// zero-length chunk while every byte before the cut still reaches the client. (HttpContext.Abort would discard
/// output Kestrel has not yet handed to the socket, making the cut point nondeterministic.)
/// </summary>
internal sealed class ManualChunkedWriter : PipeWriter
{
    private readonly PipeWriter inner;
    private readonly PooledBufferWriter pending = new(4096);

    public ManualChunkedWriter(PipeWriter inner)
    {
        this.inner = inner;
    }

    public override void Advance(int bytes) => pending.Advance(bytes);

    public override Memory<byte> GetMemory(int sizeHint = 0) => pending.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => pending.GetSpan(sizeHint);

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null) => pending.Dispose();

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (pending.WrittenCount > 0)
        {
            Span<byte> header = stackalloc byte[16];
            int length = Encoding.ASCII.GetBytes(pending.WrittenCount.ToString("x", CultureInfo.InvariantCulture) + "\r\n", header);
            inner.Write(header[..length]);
            inner.Write(pending.WrittenSpan);
            inner.Write("\r\n"u8);
            pending.Clear();
        }

        return inner.FlushAsync(cancellationToken);
    }
}
