using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Purser.SimulatedProvider.Common;

namespace Purser.SimulatedProvider.OpenAi;

/// <summary>
/// The stored-response routes: <c>GET /v1/responses/{id}</c> (a queued background response completes on its first
/// retrieval), <c>DELETE /v1/responses/{id}</c>, <c>POST /v1/responses/{id}/cancel</c> (background responses only)
/// and <c>GET /v1/responses/{id}/input_items</c> (newest first unless <c>order=asc</c>).
/// </summary>
internal sealed class StoredResponsesHandler
{
    private readonly SimContext sim;
    private readonly ResponseStore store;

    public StoredResponsesHandler(SimContext sim, ResponseStore store)
    {
        this.sim = sim;
        this.store = store;
    }

    /// <summary>Handles <paramref name="rest"/> (the path after <c>/v1/responses/</c>); false when it is no such route.</summary>
    public bool TryHandle(HttpContext context, string rest, out Task handled)
    {
        handled = Task.CompletedTask;
        string method = context.Request.Method;
        int slash = rest.IndexOf('/', StringComparison.Ordinal);
        string id = slash < 0 ? rest : rest[..slash];
        string tail = slash < 0 ? string.Empty : rest[(slash + 1)..];
        if (id.Length == 0)
        {
            return false;
        }

        switch (tail)
        {
            case "" when HttpMethods.IsGet(method):
                handled = WithEntry(context, id, static (c, e) => ResponsesHandler.SendResponseAsync(c, e.Run, e.Advance(ResponseJson.Stage.Finished), FailMode.None));
                return true;
            case "" when HttpMethods.IsDelete(method):
                handled = DeleteAsync(context, id);
                return true;
            case "cancel" when HttpMethods.IsPost(method):
                handled = WithEntry(context, id, static (c, e) => e.Run.Request.Background
                    ? ResponsesHandler.SendResponseAsync(c, e.Run, e.Advance(ResponseJson.Stage.Cancelled), FailMode.None)
                    : OpenAiErrors.InvalidRequestAsync(c, "Only responses created with background=true can be cancelled."));
                return true;
            case "input_items" when HttpMethods.IsGet(method):
                handled = WithEntry(context, id, InputItemsAsync);
                return true;
            default:
                return false;
        }
    }

    private async Task WithEntry(HttpContext context, string id, Func<HttpContext, ResponseStore.Entry, Task> then)
    {
        context.Response.Headers["x-request-id"] = sim.Ids.Next("req_");
        if (!Auth.HasKey(context.Request))
        {
            await OpenAiErrors.MissingKeyAsync(context).ConfigureAwait(false);
            return;
        }

        if (!store.TryGet(id, out ResponseStore.Entry entry))
        {
            await NotFoundAsync(context, id).ConfigureAwait(false);
            return;
        }

        await then(context, entry).ConfigureAwait(false);
    }

    private async Task DeleteAsync(HttpContext context, string id)
    {
        context.Response.Headers["x-request-id"] = sim.Ids.Next("req_");
        if (!Auth.HasKey(context.Request))
        {
            await OpenAiErrors.MissingKeyAsync(context).ConfigureAwait(false);
            return;
        }

        if (!store.Remove(id))
        {
            await NotFoundAsync(context, id).ConfigureAwait(false);
            return;
        }

        using var body = new PooledBufferWriter(128);
        Utf8JsonWriter w = JsonWriterCache.Rent(body);
        w.WriteStartObject();
        w.WriteString("id"u8, id);
        w.WriteString("object"u8, "response.deleted"u8);
        w.WriteBoolean("deleted"u8, true);
        w.WriteEndObject();
        JsonWriterCache.Return(w);
        await ResponseWriter.SendAsync(context, StatusCodes.Status200OK, body).ConfigureAwait(false);
    }

    private async Task InputItemsAsync(HttpContext context, ResponseStore.Entry entry)
    {
        JsonElement input = entry.Run.Request.Input;
        var items = new List<(string Id, JsonElement Item)>();
        if (input.ValueKind == JsonValueKind.String)
        {
            items.Add((IdOf(entry, 0), input));
        }
        else
        {
            int i = 0;
            foreach (JsonElement item in input.EnumerateArray())
            {
                string id = item.TryGetProperty("id", out JsonElement own) && own.ValueKind == JsonValueKind.String ? own.GetString()! : IdOf(entry, i);
                items.Add((id, item));
                i++;
            }
        }

        if (!string.Equals(context.Request.Query["order"], "asc", StringComparison.Ordinal))
        {
            items.Reverse();
        }

        using var body = new PooledBufferWriter(1024);
        Utf8JsonWriter w = JsonWriterCache.Rent(body);
        w.WriteStartObject();
        w.WriteString("object"u8, "list"u8);
        w.WriteStartArray("data"u8);
        foreach ((string id, JsonElement item) in items)
        {
            WriteItem(w, id, item);
        }

        w.WriteEndArray();
        if (items.Count > 0)
        {
            w.WriteString("first_id"u8, items[0].Id);
            w.WriteString("last_id"u8, items[^1].Id);
        }
        else
        {
            w.WriteNull("first_id"u8);
            w.WriteNull("last_id"u8);
        }

        w.WriteBoolean("has_more"u8, false);
        w.WriteEndObject();
        JsonWriterCache.Return(w);
        await ResponseWriter.SendAsync(context, StatusCodes.Status200OK, body).ConfigureAwait(false);
    }

    /// <summary>An input item as listed: a message's string content becomes an input_text part, and every item has an id.</summary>
    private static void WriteItem(Utf8JsonWriter w, string id, JsonElement item)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, id);
        if (item.ValueKind == JsonValueKind.String)
        {
            w.WriteString("type"u8, "message"u8);
            w.WriteString("role"u8, "user"u8);
            w.WriteString("status"u8, "completed"u8);
            w.WriteStartArray("content"u8);
            WriteInputText(w, item);
            w.WriteEndArray();
            w.WriteEndObject();
            return;
        }

        bool isMessage = !item.TryGetProperty("type", out JsonElement type) || type.ValueEquals("message");
        if (isMessage && !item.TryGetProperty("type", out _))
        {
            w.WriteString("type"u8, "message"u8);
        }

        foreach (JsonProperty property in item.EnumerateObject())
        {
            if (property.NameEquals("id"u8))
            {
                continue;
            }

            if (isMessage && property.NameEquals("content"u8) && property.Value.ValueKind == JsonValueKind.String)
            {
                w.WriteStartArray("content"u8);
                WriteInputText(w, property.Value);
                w.WriteEndArray();
                continue;
            }

            property.WriteTo(w);
        }

        if (!item.TryGetProperty("status", out _))
        {
            w.WriteString("status"u8, "completed"u8);
        }

        w.WriteEndObject();
    }

    private static void WriteInputText(Utf8JsonWriter w, JsonElement text)
    {
        w.WriteStartObject();
        w.WriteString("type"u8, "input_text"u8);
        w.WritePropertyName("text"u8);
        text.WriteTo(w);
        w.WriteEndObject();
    }

    private static string IdOf(ResponseStore.Entry entry, int index) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"msg_{entry.Run.Id[5..]}{index:D3}");

    private static Task NotFoundAsync(HttpContext context, string id) =>
        OpenAiErrors.WriteAsync(context, StatusCodes.Status404NotFound, $"Response with id '{id}' not found.", "invalid_request_error", "response_id");
}
