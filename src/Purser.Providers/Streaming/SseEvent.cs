namespace Purser.Providers.Streaming;

/// <summary>
/// One server-sent event. The memory belongs to the <see cref="SseReader"/> that produced it and stays valid only
/// until that reader's next <see cref="SseReader.ReadAsync"/>: copy what must outlive the frame.
/// </summary>
public readonly struct SseEvent
{
    public SseEvent(ReadOnlyMemory<byte> eventName, ReadOnlyMemory<byte> data, ReadOnlyMemory<byte> raw)
    {
        EventName = eventName;
        Data = data;
        Raw = raw;
    }

    /// <summary>The value of the last "event:" line; empty when the frame had none.</summary>
    public ReadOnlyMemory<byte> EventName { get; }

    /// <summary>The values of the frame's "data:" lines joined with '\n'.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>The whole frame as received, terminating blank line included, for verbatim pass-through.</summary>
    public ReadOnlyMemory<byte> Raw { get; }
}
