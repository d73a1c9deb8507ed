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

    /// <summary>Starts an SSE response; headers go out with the first flush.</summary>
    public static void StartStream(HttpContext context)
    {
        HttpResponse response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = EventStream;
        response.Headers.CacheControl = "no-cache";
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
