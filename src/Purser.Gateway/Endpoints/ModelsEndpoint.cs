using System.Text.Json;
using Purser.Gateway.Auth;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Endpoints;

/// <summary>
/// <c>GET /v1/models</c>: the aliases this key may call, in OpenAI's list shape, or Anthropic's when the caller sends
/// <c>anthropic-version</c> (as the Anthropic SDK always does); <c>GET /v1/models/{id}</c>: one of them, in the same
/// two shapes, and a 404 <c>model_not_found</c> for an alias that does not exist or that this key may not call (the
/// list does not show it either).
/// </summary>
internal static class ModelsEndpoint
{
    public static async Task HandleAsync(HttpContext context, ConfigMonitor config, TimeProvider time)
    {
        var state = config.Current;
        var format = context.Request.Headers.ContainsKey("anthropic-version") ? ApiFormat.Anthropic : ApiFormat.OpenAI;
        if (CallerAuthenticator.Authenticate(context.Request, state, time, out var key) is { } error)
        {
            await ErrorWriter.WriteAsync(context, error, format).ConfigureAwait(false);
            return;
        }

        var created = time.GetUtcNow();
        using var buffer = new PooledBufferWriter();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (format == ApiFormat.OpenAI)
            {
                json.WriteString("object"u8, "list"u8);
            }

            json.WriteStartArray("data"u8);
            string? first = null;
            string? last = null;
            foreach (var (alias, model) in state.Models)
            {
                WriteEntry(json, format, key!, alias, model.Upstream.Name, created, ref first, ref last);
            }

            // Routing and ensemble aliases are callable like any model; "purser" owns them, not one provider.
            foreach (var alias in state.Config.Routes.Keys)
            {
                WriteEntry(json, format, key!, alias, "purser", created, ref first, ref last);
            }

            foreach (var alias in state.Config.Ensembles.Keys)
            {
                WriteEntry(json, format, key!, alias, "purser", created, ref first, ref last);
            }

            json.WriteEndArray();
            if (format == ApiFormat.Anthropic)
            {
                json.WriteBoolean("has_more"u8, false);
                json.WriteString("first_id"u8, first);
                json.WriteString("last_id"u8, last);
            }

            json.WriteEndObject();
        }

        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }

    public static async Task HandleOneAsync(HttpContext context, ConfigMonitor config, TimeProvider time, string id)
    {
        var state = config.Current;
        var format = context.Request.Headers.ContainsKey("anthropic-version") ? ApiFormat.Anthropic : ApiFormat.OpenAI;
        if (CallerAuthenticator.Authenticate(context.Request, state, time, out var key) is { } error)
        {
            await ErrorWriter.WriteAsync(context, error, format).ConfigureAwait(false);
            return;
        }

        string? ownedBy = state.Models.TryGetValue(id, out var model) ? model.Upstream.Name
            : state.Config.Routes.ContainsKey(id) || state.Config.Ensembles.ContainsKey(id) ? "purser"
            : null;
        if (ownedBy is null || !key!.Allows(id))
        {
            await ErrorWriter.WriteAsync(context, new GatewayError(GatewayErrorCode.ModelNotFound, $"The model '{id}' does not exist on this gateway, or this key may not use it.", "model"), format).ConfigureAwait(false);
            return;
        }

        using var buffer = new PooledBufferWriter();
        using (var json = new Utf8JsonWriter(buffer))
        {
            string? first = null;
            string? last = null;
            WriteEntry(json, format, key, id, ownedBy, time.GetUtcNow(), ref first, ref last);
        }

        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }

    private static void WriteEntry(Utf8JsonWriter json, ApiFormat format, Keys.VirtualKey key, string alias, string ownedBy, DateTimeOffset created, ref string? first, ref string? last)
    {
        if (!key.Allows(alias))
        {
            return;
        }

        first ??= alias;
        last = alias;
        json.WriteStartObject();
        if (format == ApiFormat.OpenAI)
        {
            json.WriteString("id"u8, alias);
            json.WriteString("object"u8, "model"u8);
            json.WriteNumber("created"u8, created.ToUnixTimeSeconds());
            json.WriteString("owned_by"u8, ownedBy);
        }
        else
        {
            json.WriteString("type"u8, "model"u8);
            json.WriteString("id"u8, alias);
            json.WriteString("display_name"u8, alias);
            json.WriteString("created_at"u8, created.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
        }

        json.WriteEndObject();
    }
}
