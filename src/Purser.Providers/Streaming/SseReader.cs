using System.Buffers;
using System.IO.Pipelines;

namespace Purser.Providers.Streaming;

/// <summary>
/// Reads server-sent events from an upstream response one frame at a time, without buffering the stream whole.
/// Line ends may be "\n", "\r\n" or "\r"; comment lines (":") are ignored; "data:" takes an optional single space;
/// a last frame cut off without its blank line is still delivered, its <see cref="SseEvent.Raw"/> completed with the
/// missing line ends so that a verbatim pass-through stays well-formed. Frames without a data line (keep-alive
/// comments) are not delivered. The stream is not disposed: it belongs to the caller.
/// </summary>
public sealed class SseReader : IAsyncDisposable
{
    /// <summary>No legitimate chunk comes near this; a frame that does is a bug or an attack on memory.</summary>
    public const int MaxFrameBytes = 1024 * 1024;

    private readonly PipeReader _pipe;
    private byte[] _raw = [];
    private byte[] _joined = [];
    private SseEvent _current;

    // Where the search for the current frame's end stopped, so that a frame arriving in many small reads is scanned
    // once rather than from its start on every read.
    private long _scanned;
    private long _lineStart;
    private bool _ended;
    private bool _disposed;

    public SseReader(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _pipe = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
    }

    /// <summary>The event read by the last successful <see cref="ReadAsync"/>.</summary>
    public SseEvent Current => _current;

    /// <summary>Reads the next event; false at the end of the stream.</summary>
    /// <exception cref="InvalidDataException">A frame is larger than <see cref="MaxFrameBytes"/>.</exception>
    public async ValueTask<bool> ReadAsync(CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (!_ended)
        {
            var result = await _pipe.ReadAsync(ct).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (TryFindFrameEnd(buffer, result.IsCompleted, out var frameLength))
            {
                var frame = buffer.Slice(0, frameLength);
                var delivered = Load(frame, terminated: true);
                _pipe.AdvanceTo(frame.End);
                _scanned = 0;
                _lineStart = 0;
                if (delivered)
                {
                    return true;
                }

                continue;
            }

            if (buffer.Length > MaxFrameBytes)
            {
                throw new InvalidDataException($"A server-sent event frame exceeds {MaxFrameBytes} bytes.");
            }

            if (result.IsCompleted)
            {
                _ended = true;
                var delivered = !buffer.IsEmpty && Load(buffer, terminated: false);
                _pipe.AdvanceTo(buffer.End);
                return delivered;
            }

            _pipe.AdvanceTo(buffer.Start, buffer.End);
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _pipe.CompleteAsync().ConfigureAwait(false);
        Return(ref _raw);
        Return(ref _joined);
        _current = default;
    }

    private bool TryFindFrameEnd(ReadOnlySequence<byte> buffer, bool isCompleted, out long frameLength)
    {
        var reader = new SequenceReader<byte>(buffer);
        reader.Advance(_scanned);
        var lineStart = _lineStart;
        while (reader.TryAdvanceToAny("\r\n"u8, advancePastDelimiter: false))
        {
            var lineEnd = reader.Consumed;
            reader.TryRead(out var terminator);
            if (terminator == (byte)'\r')
            {
                if (reader.TryPeek(out var next))
                {
                    if (next == (byte)'\n')
                    {
                        reader.Advance(1);
                    }
                }
                else if (!isCompleted)
                {
                    // "\r" last in the buffer: a "\n" may follow in the next read and belong to this line end.
                    _scanned = lineEnd;
                    _lineStart = lineStart;
                    frameLength = 0;
                    return false;
                }
            }

            if (lineEnd == lineStart)
            {
                frameLength = reader.Consumed;
                return true;
            }

            lineStart = reader.Consumed;
        }

        _scanned = buffer.Length;
        _lineStart = lineStart;
        frameLength = 0;
        return false;
    }

    // Copies the frame into a buffer this reader owns (so the pipe can move on) and finds its fields there.
    private bool Load(ReadOnlySequence<byte> frame, bool terminated)
    {
        if (frame.Length > MaxFrameBytes)
        {
            throw new InvalidDataException($"A server-sent event frame exceeds {MaxFrameBytes} bytes.");
        }

        var length = (int)frame.Length;
        EnsureCapacity(ref _raw, length + 2);
        frame.CopyTo(_raw);
        if (!terminated)
        {
            var last = _raw[length - 1];
            if (last is (byte)'\n' or (byte)'\r')
            {
                _raw[length++] = last;
            }
            else
            {
                _raw[length++] = (byte)'\n';
                _raw[length++] = (byte)'\n';
            }
        }

        var span = _raw.AsSpan(0, length);
        var position = 0;
        var dataLines = 0;
        var dataStart = 0;
        var dataLength = 0;
        var joinedLength = 0;
        var eventStart = 0;
        var eventLength = 0;
        while (position < span.Length)
        {
            var rest = span[position..];
            var end = rest.IndexOfAny((byte)'\r', (byte)'\n');
            var lineLength = end < 0 ? rest.Length : end;
            var next = position + lineLength;
            if (end >= 0)
            {
                next += rest[end] == (byte)'\r' && end + 1 < rest.Length && rest[end + 1] == (byte)'\n' ? 2 : 1;
            }

            if (lineLength == 0)
            {
                break;
            }

            var line = rest[..lineLength];
            if (line[0] != (byte)':')
            {
                var colon = line.IndexOf((byte)':');
                var field = colon < 0 ? line : line[..colon];
                var valueOffset = colon < 0 ? lineLength : colon + 1;
                if (valueOffset < lineLength && line[valueOffset] == (byte)' ')
                {
                    valueOffset++;
                }

                var valueStart = position + valueOffset;
                var valueLength = lineLength - valueOffset;
                if (field.SequenceEqual("data"u8))
                {
                    if (dataLines == 0)
                    {
                        dataStart = valueStart;
                        dataLength = valueLength;
                    }
                    else
                    {
                        if (dataLines == 1)
                        {
                            // The joined data is never longer than the frame.
                            EnsureCapacity(ref _joined, length);
                            span.Slice(dataStart, dataLength).CopyTo(_joined);
                            joinedLength = dataLength;
                        }

                        _joined[joinedLength++] = (byte)'\n';
                        span.Slice(valueStart, valueLength).CopyTo(_joined.AsSpan(joinedLength));
                        joinedLength += valueLength;
                    }

                    dataLines++;
                }
                else if (field.SequenceEqual("event"u8))
                {
                    eventStart = valueStart;
                    eventLength = valueLength;
                }
            }

            position = next;
        }

        if (dataLines == 0)
        {
            _current = default;
            return false;
        }

        var data = dataLines == 1 ? _raw.AsMemory(dataStart, dataLength) : _joined.AsMemory(0, joinedLength);
        _current = new SseEvent(_raw.AsMemory(eventStart, eventLength), data, _raw.AsMemory(0, length));
        return true;
    }

    // Callers overwrite the whole buffer, so growing does not copy.
    private static void EnsureCapacity(ref byte[] buffer, int needed)
    {
        if (buffer.Length >= needed)
        {
            return;
        }

        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, Math.Max(buffer.Length * 2, 4096)));
        Return(ref buffer);
        buffer = larger;
    }

    private static void Return(ref byte[] buffer)
    {
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        buffer = [];
    }
}
