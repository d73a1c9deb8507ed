using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Events;
using Purser.Gateway.AdminServices;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Keys;
using Purser.Pricing;
using Purser.Usage;
using Purser.Gateway.Wire;
using Purser.Gateway.Validation;

namespace Purser.Gateway.Admin;

/// <summary>
/// The operators' API under <c>/admin</c>, behind the master key: keys (the secret is shown once), budgets on any
/// scope with their current window, usage queries and CSV export, events, routing and ensemble aliases
/// (<see cref="AliasEndpoints"/>).
/// </summary>
internal static class AdminEndpoints
{
    public static IEndpointRouteBuilder MapAdminEndpoints(this IEndpointRouteBuilder routes)
    {
        var admin = routes.MapGroup("/admin").AddEndpointFilter(RequireMasterKeyAsync);
        admin.MapGet("/keys", ListKeys);
        admin.MapPost("/keys", CreateKeyAsync);
        admin.MapPatch("/keys/{id}", UpdateKeyAsync);
        admin.MapDelete("/keys/{id}", RevokeKeyAsync);
        admin.MapGet("/budgets", ListBudgetsAsync);
        admin.MapPut("/budgets/{id}", PutBudgetAsync);
        admin.MapDelete("/budgets/{id}", DeleteBudgetAsync);
        admin.MapGet("/budgets/{id}/users", ListEndUsersAsync);
        admin.MapGet("/usage", QueryUsageAsync);
        admin.MapGet("/usage.csv", ExportUsageAsync);
        admin.MapGet("/usage/rollups", UsageRollupEndpoints.QueryAsync);
        admin.MapGet("/events", QueryEventsAsync);
        admin.MapBedtimeEndpoints();
        admin.MapWebhookEndpoints();
        admin.MapAliasEndpoints();
        admin.MapRateLimitEndpoints();
        admin.MapReservationEndpoints();
        return routes;
    }

    private static async ValueTask<object?> RequireMasterKeyAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var expected = http.RequestServices.GetRequiredService<ConfigMonitor>().Current.Config.Server.AdminKeyHash;
        string? authorization = http.Request.Headers.Authorization;
        var secret = authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..].Trim() : null;
        if (expected is null || secret is null
            || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(KeyHasher.Hash(secret)), Encoding.ASCII.GetBytes(expected)))
        {
            return new ErrorResult(new GatewayError(GatewayErrorCode.InvalidApiKey, expected is null
                ? "The admin API is disabled: set server.admin_key_hash."
                : "The admin API needs the master key as 'Authorization: Bearer <key>'."));
        }

        return await next(context).ConfigureAwait(false);
    }

    private static IResult ListKeys(KeyAdmin keys) => new JsonResult(new JsonObject { ["data"] = keys.List() });

    private static async Task<IResult> CreateKeyAsync(HttpContext http, ConfigMonitor config, KeyAdmin keys)
    {
        var (body, error) = await ReadAsync(http, config).ConfigureAwait(false);
        if (error is { } bad)
        {
            return new ErrorResult(bad);
        }

        var (created, refused) = await keys.CreateAsync(body!, http.RequestAborted).ConfigureAwait(false);
        return refused is { } no ? new ErrorResult(no) : new JsonResult(created!, 201);
    }

    private static async Task<IResult> UpdateKeyAsync(string id, HttpContext http, ConfigMonitor config, KeyAdmin keys)
    {
        var (body, error) = await ReadAsync(http, config).ConfigureAwait(false);
        if (error is { } bad)
        {
            return new ErrorResult(bad);
        }

        var (updated, refused) = await keys.UpdateAsync(id, body!, http.RequestAborted).ConfigureAwait(false);
        return refused is { } no ? new ErrorResult(no) : new JsonResult(updated!);
    }

    private static async Task<IResult> RevokeKeyAsync(string id, HttpContext http, KeyAdmin keys) =>
        await keys.RevokeAsync(id, http.RequestAborted).ConfigureAwait(false) is { } refused
            ? new ErrorResult(refused)
            : new JsonResult(new JsonObject { ["id"] = id, ["revoked"] = true });

    private static async Task<IResult> ListBudgetsAsync(HttpContext http, BudgetAdmin budgets)
    {
        var list = new JsonArray();
        foreach (var view in await budgets.ViewsAsync(http.RequestAborted).ConfigureAwait(false))
        {
            list.Add((JsonNode?)BudgetJson.Write(view.Budget, view.Source, view.Window, view.State));
        }

        return new JsonResult(new JsonObject { ["data"] = list });
    }

    private static async Task<IResult> PutBudgetAsync(string id, HttpContext http, ConfigMonitor config, BudgetAdmin budgets)
    {
        var (body, error) = await ReadAsync(http, config).ConfigureAwait(false);
        if (error is { } bad)
        {
            return new ErrorResult(bad);
        }

        var (view, refused) = await budgets.PutAsync(id, body!, http.RequestAborted).ConfigureAwait(false);
        return refused is { } no ? new ErrorResult(no) : new JsonResult(BudgetJson.Write(view!.Budget, view.Source, view.Window, view.State));
    }

    private static async Task<IResult> DeleteBudgetAsync(string id, HttpContext http, BudgetAdmin budgets) =>
        await budgets.DeleteAsync(id, http.RequestAborted).ConfigureAwait(false) is { } refused
            ? new ErrorResult(refused)
            : new JsonResult(new JsonObject { ["id"] = id, ["deleted"] = true });

    /// <summary>The end users of a <c>user:*</c> budget in its current window, top spenders first.</summary>
    private static async Task<IResult> ListEndUsersAsync(string id, HttpContext http, BudgetAdmin budgets)
    {
        var limit = 100;
        if (http.Request.Query.TryGetValue("limit", out var limitText) && (!int.TryParse(limitText, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > 10_000))
        {
            return new ErrorResult(BudgetJson.Invalid("limit", "must be a whole number from 1 to 10000"));
        }

        if (await budgets.EndUsersAsync(id, limit, http.RequestAborted).ConfigureAwait(false) is not { } found)
        {
            return new ErrorResult(AdminRefusal.NotFound($"No user:* budget '{id}'.", "id"));
        }

        var prefix = EndUserCounters.Prefix(id).Length;
        var list = new JsonArray();
        foreach (var entry in found.Users)
        {
            var remaining = found.Budget.CapUsd is { } cap ? Money.Max(Money.Zero, cap - entry.State.Spent - entry.State.Held) : (Money?)null;
            list.Add((JsonNode?)new JsonObject
            {
                ["end_user"] = entry.Counter.BudgetId[prefix..],
                ["spent"] = entry.State.Spent.ToString(),
                ["held"] = entry.State.Held.ToString(),
                ["remaining"] = remaining?.ToString(),
                ["spent_tokens"] = entry.State.SpentTokens,
                ["held_tokens"] = entry.State.HeldTokens,
            });
        }

        return new JsonResult(new JsonObject
        {
            ["budget"] = id,
            ["window_key"] = found.Window.Key,
            ["cap_usd"] = found.Budget.CapUsd?.ToString(),
            ["data"] = list,
        });
    }

    private static async Task<IResult> QueryUsageAsync(HttpContext http, IUsageStore usage, IUsageExport export)
    {
        if (ReadUsageQuery(http.Request.Query, out var query) is { } bad)
        {
            return new ErrorResult(bad);
        }

        await export.FlushAsync(http.RequestAborted).ConfigureAwait(false);
        var records = await usage.QueryAsync(query, http.RequestAborted).ConfigureAwait(false);
        var list = new JsonArray();
        foreach (var r in records)
        {
            list.Add((JsonNode?)new JsonObject
            {
                ["request_id"] = r.RequestId,
                ["timestamp"] = r.Timestamp.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
                ["key_id"] = r.KeyId,
                ["model"] = r.ModelAlias,
                ["provider"] = r.Provider,
                ["upstream_model"] = r.UpstreamModel,
                ["operation"] = r.Operation,
                ["input_tokens"] = r.Tokens.InputTokens,
                ["output_tokens"] = r.Tokens.OutputTokens,
                ["cached_input_tokens"] = r.Tokens.CachedInputTokens,
                ["cache_write_tokens"] = r.Tokens.CacheWriteTokens,
                ["cache_write_1h_tokens"] = r.Tokens.CacheWrite1hTokens,
                ["reasoning_tokens"] = r.Tokens.ReasoningTokens,
                ["web_search_requests"] = r.Tokens.WebSearchRequests,
                ["service_tier"] = ServiceTiers.Name(r.Tokens.Tier),
                ["cost_usd"] = r.Cost.ToString(),
                ["status"] = r.Status,
                ["error_code"] = r.ErrorCode,
                ["latency_ms"] = r.LatencyMs,
                ["streamed"] = r.Streamed,
                ["source"] = r.Source.ToString().ToLowerInvariant(),
                ["task_scope"] = r.TaskScope,
                ["end_user"] = r.EndUser,
                ["tags"] = r.Tags,
                ["degraded"] = r.Degraded,
            });
        }

        return new JsonResult(new JsonObject { ["data"] = list });
    }

    private static async Task ExportUsageAsync(HttpContext http, IUsageExport export)
    {
        if (ReadUsageQuery(http.Request.Query, out var query) is { } bad)
        {
            await ErrorWriter.WriteAsync(http, bad, ApiFormat.OpenAI).ConfigureAwait(false);
            return;
        }

        http.Response.ContentType = "text/csv; charset=utf-8";
        http.Response.Headers.ContentDisposition = "attachment; filename=\"purser-usage.csv\"";
        await export.FlushAsync(http.RequestAborted).ConfigureAwait(false);
        var writer = new StreamWriter(http.Response.Body, new UTF8Encoding(false));
        await using (writer.ConfigureAwait(false))
        {
            await export.WriteCsvAsync(query, writer, http.RequestAborted).ConfigureAwait(false);
        }
    }

    private static async Task<IResult> QueryEventsAsync(HttpContext http, IEventStore events)
    {
        var q = http.Request.Query;
        var limit = 1000;
        if (q.TryGetValue("limit", out var limitText) && (!int.TryParse(limitText, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > 10_000))
        {
            return new ErrorResult(BudgetJson.Invalid("limit", "must be a whole number from 1 to 10000"));
        }

        if (ReadUsageQuery(q, out var range) is { } badRange)
        {
            return new ErrorResult(badRange);
        }

        var list = new JsonArray();
        foreach (var e in await events.QueryAsync(new EventQuery { Type = q["type"], Scope = q["scope"], From = range.From, To = range.To, Limit = limit }, http.RequestAborted).ConfigureAwait(false))
        {
            list.Add((JsonNode?)new JsonObject
            {
                ["id"] = e.Id,
                ["timestamp"] = e.Timestamp.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
                ["type"] = e.Type,
                ["scope"] = e.Scope,
                ["budget_id"] = e.BudgetId,
                ["window"] = e.WindowKey,
                ["request_id"] = e.RequestId,
                ["message"] = e.Message,
            });
        }

        return new JsonResult(new JsonObject { ["data"] = list });
    }

    internal static GatewayError? ReadUsageQuery(IQueryCollection q, out UsageQuery query)
    {
        query = new UsageQuery();
        DateTimeOffset? from = null;
        DateTimeOffset? to = null;
        if (q.TryGetValue("from", out var fromText))
        {
            if (!DateTimeOffset.TryParse(fromText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var f))
            {
                return BudgetJson.Invalid("from", "must be an ISO 8601 date or time");
            }

            from = f;
        }

        if (q.TryGetValue("to", out var toText))
        {
            if (!DateTimeOffset.TryParse(toText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t))
            {
                return BudgetJson.Invalid("to", "must be an ISO 8601 date or time");
            }

            to = t;
        }

        var limit = 1000;
        if (q.TryGetValue("limit", out var limitText) && (!int.TryParse(limitText, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > 100_000))
        {
            return BudgetJson.Invalid("limit", "must be a whole number from 1 to 100000");
        }

        query = new UsageQuery { KeyId = q["key_id"], ModelAlias = q["model"], EndUser = q["end_user"], Tag = q["tag"], From = from, To = to, Limit = limit };
        return null;
    }

    internal static async Task<(JsonObject? Body, GatewayError? Error)> ReadAsync(HttpContext http, ConfigMonitor config)
    {
        // Checked like a proxied body before it is parsed: bad UTF-8, escaped lone surrogates and duplicate names are a
        // 400 (JsonObject would throw on a duplicate name, a 500).
        var (raw, error) = await RequestBody.ReadRawAsync(http.Request, config.Current.Config.Server.MaxBodyBytes, http.RequestAborted).ConfigureAwait(false);
        if (error is { } bad)
        {
            return (null, bad);
        }

        using (raw)
        {
            if (JsonBodyCheck.Check(raw!.WrittenSpan) is { } badBytes)
            {
                return (null, badBytes);
            }

            var (json, parseError) = RequestBody.Parse(raw.WrittenSpan);
            return parseError is { } badJson ? (null, badJson) : (json, null);
        }
    }

    /// <summary>An admin error in the OpenAI error shape.</summary>
    internal sealed class ErrorResult(GatewayError error) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) => ErrorWriter.WriteAsync(httpContext, error, ApiFormat.OpenAI);
    }

    /// <summary>A JSON body written with the source-generated context.</summary>
    internal sealed class JsonResult(JsonObject body, int status = 200) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.ContentType = "application/json";
            await JsonSerializer.SerializeAsync(httpContext.Response.Body, body, GatewayJsonContext.Default.JsonObject, httpContext.RequestAborted).ConfigureAwait(false);
        }
    }
}
