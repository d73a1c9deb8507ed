using Microsoft.AspNetCore.Http.Features;
using Purser.Gateway.Errors;
using Purser.Gateway.Wire;
using Purser.Providers.Streaming;

namespace Purser.Gateway.Relay;

/// <summary>
/// The one stream relay loop (chat in both directions, and the ensemble judge): read an upstream frame, let the
/// <see cref="IStreamRelay"/> translate and observe it, write it and flush at once — never buffered whole. It ends the
/// caller's stream truthfully: normally only when the upstream ended as its provider meant it to; otherwise with an
/// error in the caller's format (OpenAI: an <c>error</c> chunk and no <c>[DONE]</c>; Anthropic: <c>event: error</c>).
/// </summary>
internal static class StreamPump
{
    public static async Task<StreamEnd> PumpAsync(HttpContext context, HttpResponseMessage upstream, IStreamRelay relay, ApiFormat callerFormat, CancellationToken ct)
    {
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var writer = response.BodyWriter;
        var clientGone = false;
        var malformed = false;
        try
        {
            await response.StartAsync(ct).ConfigureAwait(false);
            var upstreamStream = await upstream.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            await using var reader = new SseReader(upstreamStream);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                if (!relay.Relay(reader.Current, writer))
                {
                    malformed = true;
                    break;
                }

                var flushed = await writer.FlushAsync(ct).ConfigureAwait(false);
                if (flushed.IsCanceled || flushed.IsCompleted)
                {
                    clientGone = true;
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException or InvalidDataException)
        {
            // The caller left, the upstream cut the stream or timed out, or it sent an unframeable stream.
            clientGone = context.RequestAborted.IsCancellationRequested;
            malformed = !clientGone && ex is InvalidDataException;
        }

        var ended = !malformed && relay.Ended;
        if (!clientGone)
        {
            try
            {
                if (ended)
                {
                    relay.Complete(writer);
                }
                else if (!relay.WriteError(writer, malformed))
                {
                    WriteError(writer, callerFormat, malformed);
                }

                await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException)
            {
                clientGone = true;
            }
        }

        return new StreamEnd(clientGone, malformed, ended);
    }

    /// <summary>The error frame that ends a broken stream, rendered through the one error table.</summary>
    public static void WriteError(System.IO.Pipelines.PipeWriter writer, ApiFormat callerFormat, bool malformed)
    {
        var error = new GatewayError(GatewayErrorCode.UpstreamInvalidResponse, malformed
            ? "The provider sent a malformed stream; the gateway ended it."
            : "The provider's stream ended before it was complete; the gateway ended it.");
        var body = ErrorWriter.Render(error, callerFormat);
        if (callerFormat == ApiFormat.Anthropic)
        {
            SseWriter.WriteEvent(writer, "error"u8, body);
        }
        else
        {
            SseWriter.WriteData(writer, body);
        }
    }
}
