using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Purser.SimulatedProvider.Common;

namespace Purser.SimulatedProvider.OpenAi;

/// <summary><c>GET /v1/models</c>: a fixed list; the body never changes, so it is built once.</summary>
internal sealed class ModelsHandler
{
    // A fixed timestamp (2024-01-01) keeps the listing byte-identical across runs.
    private const long Created = 1704067200;

    private static readonly string[] Ids = ["sim-chat", "sim-embed", "claude-sim"];

    private readonly SimContext sim;
    private readonly byte[] body;

    public ModelsHandler(SimContext sim)
    {
        this.sim = sim;
        using var buffer = new PooledBufferWriter(512);
        Utf8JsonWriter w = JsonWriterCache.Rent(buffer);
        w.WriteStartObject();
        w.WriteString("object"u8, "list"u8);
        w.WriteStartArray("data"u8);
        foreach (string id in Ids)
        {
            w.WriteStartObject();
            w.WriteString("id"u8, id);
            w.WriteString("object"u8, "model"u8);
            w.WriteNumber("created"u8, Created);
            w.WriteString("owned_by"u8, "purser-sim"u8);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        JsonWriterCache.Return(w);
        body = buffer.WrittenSpan.ToArray();
    }

    public async Task HandleAsync(HttpContext context)
    {
        context.Response.Headers["x-request-id"] = sim.Ids.Next("req_");
        if (!Auth.HasKey(context.Request))
        {
            await OpenAiErrors.MissingKeyAsync(context).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = ResponseWriter.Json;
        context.Response.ContentLength = body.Length;
        await context.Response.BodyWriter.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }
}
