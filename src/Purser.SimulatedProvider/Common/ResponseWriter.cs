using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Purser.SimulatedProvider.Common;

internal static class ResponseWriter
{
    public const string Json = "application/json";
    public const string EventStream = "text/event-stream";

    /// <summary>Sends a fully buffered body with its Content-Length.</summary>
    public static async Task SendAsync(HttpContext context, int status, PooledBufferWriter body, string contentType = Json)
    {
        HttpResponse response = context.Response;
        response.StatusCode = status;
        response.ContentType = contentType;
        response.ContentLength = body.WrittenCount;
        await response.BodyWriter.WriteAsync(body.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts an SSE response (headers go out with the first flush) and returns the writer for its frames.
    /// A stream that will be cut frames its own HTTP/1.1 chunks and closes the connection, so it can end without
    /// the terminating chunk; see <see cref="EndCutAsync"/>.
    /// </summary>
    public static PipeWriter StartStream(HttpContext context, bool willCut)
    {
        HttpResponse response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = EventStream;
        response.Headers.CacheControl = "no-cache";
        if (willCut && HttpProtocol.IsHttp11(context.Request.Protocol))
        {
            response.Headers.TransferEncoding = "chunked";
            response.Headers.Connection = "close";
            return new ManualChunkedWriter(response.BodyWriter);
        }

        return response.BodyWriter;
    }

    /// <summary>Ends a cut stream: everything written so far reaches the client, then the connection ends mid-body.</summary>
    public static async Task EndCutAsync(HttpContext context, PipeWriter pipe, CancellationToken ct)
    {
        await FlushAsync(pipe, ct).ConfigureAwait(false);
        if (pipe is ManualChunkedWriter)
        {
            // Returning leaves the body without its zero-length chunk; "Connection: close" then ends the connection
            // after Kestrel has sent everything, which the client sees as a prematurely ended response.
            await pipe.CompleteAsync().ConfigureAwait(false);
            return;
        }

        // HTTP/2 and others have their own framing: a reset stream is the closest equivalent.
        context.Abort();
    }

    /// <summary>Begins an SSE frame (<c>event: name</c> when given, then <c>data: </c>) and rents a writer for its JSON.</summary>
    public static Utf8JsonWriter BeginFrame(PipeWriter pipe, ReadOnlySpan<byte> eventName = default)
    {
        if (!eventName.IsEmpty)
        {
            pipe.Write("event: "u8);
            pipe.Write(eventName);
            pipe.Write("\n"u8);
        }

        pipe.Write("data: "u8);
        return JsonWriterCache.Rent(pipe);
    }

    public static void EndFrame(PipeWriter pipe, Utf8JsonWriter writer)
    {
        JsonWriterCache.Return(writer);
        pipe.Write("\n\n"u8);
    }

    /// <summary>Pushes buffered frames to the socket; false once the client is gone.</summary>
    public static async ValueTask<bool> FlushAsync(PipeWriter pipe, CancellationToken ct)
    {
        FlushResult result = await pipe.FlushAsync(ct).ConfigureAwait(false);
        return !result.IsCompleted && !result.IsCanceled;
    }
}
