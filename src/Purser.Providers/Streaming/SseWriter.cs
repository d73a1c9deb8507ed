using System.Buffers;

namespace Purser.Providers.Streaming;

/// <summary>Writes server-sent event frames straight into the response's buffer.</summary>
public static class SseWriter
{
    /// <summary>The OpenAI end-of-stream frame.</summary>
    public static ReadOnlySpan<byte> DoneFrame => "data: [DONE]\n\n"u8;

    /// <summary>Writes "data: json\n\n".</summary>
    public static void WriteData(IBufferWriter<byte> output, ReadOnlySpan<byte> json)
    {
        ArgumentNullException.ThrowIfNull(output);
        WriteDataLines(output, json);
        output.Write("\n"u8);
    }

    /// <summary>Writes "event: name\ndata: json\n\n".</summary>
    public static void WriteEvent(IBufferWriter<byte> output, ReadOnlySpan<byte> eventName, ReadOnlySpan<byte> json)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.Write("event: "u8);
        output.Write(eventName);
        output.Write("\n"u8);
        WriteDataLines(output, json);
        output.Write("\n"u8);
    }

    // A line break inside the payload would end the data field early and corrupt the frame, so a multi-line payload
    // (pretty-printed JSON) becomes several data lines, which a reader joins back with '\n'.
    private static void WriteDataLines(IBufferWriter<byte> output, ReadOnlySpan<byte> payload)
    {
        while (true)
        {
            output.Write("data: "u8);
            var lineEnd = payload.IndexOfAny((byte)'\r', (byte)'\n');
            if (lineEnd < 0)
            {
                output.Write(payload);
                output.Write("\n"u8);
                return;
            }

            output.Write(payload[..lineEnd]);
            output.Write("\n"u8);
            var skip = payload[lineEnd] == (byte)'\r' && lineEnd + 1 < payload.Length && payload[lineEnd + 1] == (byte)'\n' ? 2 : 1;
            payload = payload[(lineEnd + skip)..];
        }
    }
}
