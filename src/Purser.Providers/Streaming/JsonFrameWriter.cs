using System.Buffers;
using System.Text.Json;

namespace Purser.Providers.Streaming;

/// <summary>
/// Writes SSE frames whose data is JSON built with one reused <see cref="Utf8JsonWriter"/>, straight into the
/// response's buffer: no intermediate string or array per frame.
/// </summary>
internal sealed class JsonFrameWriter
{
    private Utf8JsonWriter? _json;

    /// <summary>Starts "data: " and returns the writer for the frame's JSON; finish with <see cref="End"/>.</summary>
    public Utf8JsonWriter BeginData(IBufferWriter<byte> output)
    {
        output.Write("data: "u8);
        return Attach(output);
    }

    /// <summary>Starts "event: name\ndata: " and returns the writer for the frame's JSON.</summary>
    public Utf8JsonWriter BeginEvent(IBufferWriter<byte> output, ReadOnlySpan<byte> eventName)
    {
        output.Write("event: "u8);
        output.Write(eventName);
        output.Write("\ndata: "u8);
        return Attach(output);
    }

    /// <summary>Flushes the JSON into the output and terminates the frame.</summary>
    public void End(IBufferWriter<byte> output)
    {
        _json!.Flush();
        output.Write("\n\n"u8);
    }

    private Utf8JsonWriter Attach(IBufferWriter<byte> output)
    {
        if (_json is null)
        {
            _json = new Utf8JsonWriter(output);
        }
        else
        {
            _json.Reset(output);
        }

        return _json;
    }
}
