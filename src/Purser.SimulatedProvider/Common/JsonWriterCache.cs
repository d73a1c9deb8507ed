using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Purser.SimulatedProvider.Common;

/// <summary>
/// One <see cref="Utf8JsonWriter"/> per thread, reused. Safe because every rent/return pair brackets purely
/// synchronous writing: callers never await while holding a writer.
/// </summary>
internal static class JsonWriterCache
{
    // Relaxed escaping writes \" rather than \u0022, as the real providers do, and keeps non-ASCII text readable.
    private static readonly JsonWriterOptions Options = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = false,
    };

    private static readonly IBufferWriter<byte> Detached = new ArrayBufferWriter<byte>(1);

    [ThreadStatic]
    private static Utf8JsonWriter? cached;

    public static Utf8JsonWriter Rent(IBufferWriter<byte> output)
    {
        Utf8JsonWriter? writer = cached;
        if (writer is null)
        {
            return new Utf8JsonWriter(output, Options);
        }

        cached = null;
        writer.Reset(output);
        return writer;
    }

    /// <summary>Flushes everything written into the output and keeps the writer for the next caller on this thread.</summary>
    public static void Return(Utf8JsonWriter writer)
    {
        writer.Flush();
        // Detach so a cached writer never pins a finished request's pipe.
        writer.Reset(Detached);
        cached = writer;
    }
}
