using System.Buffers;
using System.Text;
using System.Text.Json;
using Purser.Providers.Streaming;

namespace Purser.Providers.Tests.Streaming;

/// <summary>A copied SSE event (the reader's memory is only valid until its next read).</summary>
internal sealed record ReadEvent(string EventName, string Data, string Raw);

/// <summary>One frame of translator output, parsed back.</summary>
internal sealed record OutputFrame(string? EventName, string Data)
{
    public JsonElement Json => JsonDocument.Parse(Data).RootElement;
}

internal static class SseTestKit
{
    public static async Task<List<ReadEvent>> ReadAllAsync(Stream stream)
    {
        var events = new List<ReadEvent>();
        await using var reader = new SseReader(stream);
        for (var i = 0; i < 100_000 && await reader.ReadAsync(CancellationToken.None); i++)
        {
            var current = reader.Current;
            events.Add(new ReadEvent(
                Encoding.UTF8.GetString(current.EventName.Span),
                Encoding.UTF8.GetString(current.Data.Span),
                Encoding.UTF8.GetString(current.Raw.Span)));
        }

        return events;
    }

    public static Task<List<ReadEvent>> ReadAllAsync(string text, int seed = -1) =>
        ReadAllAsync(seed < 0 ? new MemoryStream(Encoding.UTF8.GetBytes(text)) : new ChunkedStream(Encoding.UTF8.GetBytes(text), seed));

    /// <summary>Splits translator output ("event: x\ndata: y\n\n" or "data: y\n\n") into frames, strictly.</summary>
    public static List<OutputFrame> ParseOutput(ArrayBufferWriter<byte> output)
    {
        var text = Encoding.UTF8.GetString(output.WrittenSpan);
        Assert.EndsWith("\n\n", text);
        var frames = new List<OutputFrame>();
        foreach (var frame in text[..^2].Split("\n\n"))
        {
            var lines = frame.Split('\n');
            string? eventName = null;
            var dataLine = lines[0];
            if (lines[0].StartsWith("event: ", StringComparison.Ordinal))
            {
                eventName = lines[0]["event: ".Length..];
                dataLine = lines[1];
                Assert.Equal(2, lines.Length);
            }
            else
            {
                Assert.Single(lines);
            }

            Assert.StartsWith("data: ", dataLine);
            frames.Add(new OutputFrame(eventName, dataLine["data: ".Length..]));
        }

        return frames;
    }

    public static SseEvent Event(string eventName, string data)
    {
        var raw = Encoding.UTF8.GetBytes($"event: {eventName}\ndata: {data}\n\n");
        var nameStart = "event: ".Length;
        var dataStart = nameStart + Encoding.UTF8.GetByteCount(eventName) + "\ndata: ".Length;
        return new SseEvent(raw.AsMemory(nameStart, Encoding.UTF8.GetByteCount(eventName)), raw.AsMemory(dataStart, Encoding.UTF8.GetByteCount(data)), raw);
    }
}
