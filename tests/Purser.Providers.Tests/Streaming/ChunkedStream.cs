namespace Purser.Providers.Tests.Streaming;

/// <summary>A read-only stream that hands out its bytes in small random pieces, as a slow network would.</summary>
internal sealed class ChunkedStream : Stream
{
    private readonly byte[] _bytes;
    private readonly Random _random;
    private readonly int _maxPiece;
    private int _position;

    public ChunkedStream(byte[] bytes, int seed, int maxPiece = 7)
    {
        _bytes = bytes;
        _random = new Random(seed);
        _maxPiece = maxPiece;
    }

    public int Reads { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => _bytes.Length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        Reads++;
        var piece = Math.Min(Math.Min(buffer.Length, _random.Next(1, _maxPiece + 1)), _bytes.Length - _position);
        _bytes.AsSpan(_position, piece).CopyTo(buffer);
        _position += piece;
        return piece;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
