using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Admin;
using Purser.Budgets;
using Purser.Events;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Proxy;
using Purser.Keys;
using Purser.Usage;

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
        admin.MapGet("/keys", ListKeysAsync);
        admin.MapPost("/keys", CreateKeyAsync);
        admin.MapPatch("/keys/{id}", UpdateKeyAsync);
        admin.MapDelete("/keys/{id}", RevokeKeyAsync);
        admin.MapGet("/budgets", ListBudgetsAsync);
        admin.MapPut("/budgets/{id}", PutBudgetAsync);
        admin.MapDelete("/budgets/{id}", DeleteBudgetAsync);
        admin.MapGet("/usage", QueryUsageAsync);
        admin.MapGet("/usage.csv", ExportUsageAsync);
        admin.MapGet("/usage/rollups", UsageRollupEndpoints.QueryAsync);
        admin.MapGet("/events", QueryEventsAsync);
        admin.MapBedtimeEndpoints();
        admin.MapWebhookEndpoints();
        admin.MapAliasEndpoints();
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

    private static async Task<IResult> ListKeysAsync(ConfigMonitor config)
    {
        var state = config.Current;
        var list = new JsonArray();
        foreach (var key in state.Config.Keys)
        {
            list.Add(KeyJson(key.Id, key.Team, key.AllowedModels, key.ExpiresAt, null, null, "config"));
        }

        foreach (var key in state.StoredKeys)
        {
            list.Add(KeyJson(key.Id, key.Team, key.AllowedModels, key.ExpiresAt, key.CreatedAt, key.RevokedAt, "api"));
        }

        await Task.CompletedTask.ConfigureAwait(false);
        return new JsonResult(new JsonObject { ["data"] = list });
    }

    private static async Task<IResult> CreateKeyAsync(HttpContext http, ConfigMonitor config, IAdminStore store, TimeProvider time)
    {
        var (body, error) = await ReadAsync(http, config).ConfigureAwait(false);
        if (error is { } bad)
        {
            return new ErrorResult(bad);
        }

        var (created, refused) = await CreateStoredKeyAsync(body!, config, store, time, http.RequestAborted).ConfigureAwait(false);
        return refused is { } no ? new ErrorResult(no) : new JsonResult(created!, 201);
    }

    /// <summary>Creates a key from an admin body; the JSON answer carries the secret, the only time it is ever shown. Shared with the dashboard.</summary>
    internal static async Task<(JsonObject? Key, GatewayError? Error)> CreateStoredKeyAsync(JsonObject body, ConfigMonitor config, IAdminStore store, TimeProvider time, CancellationToken ct)
    {
        var id = BudgetJson.Text(body, "id");
        if (id is null || !ScopeRef.IsValidId(id))
        {
            return (null, BudgetJson.Invalid("id", "must be 1–128 letters, digits, '.', '_', '-' or ':'"));
        }

        var fieldError = ReadKeyFields(body, config.Current, out var team, out var models, out var expires);
        if (fieldError is { } badField)
        {
            return (null, badField);
        }

        if (config.Current.Config.Keys.Any(k => k.Id == id))
        {
            return (null, new GatewayError(GatewayErrorCode.InvalidRequest, $"The key id '{id}' is defined in the configuration file.", "id") { StatusOverride = 409 });
        }

        var secret = KeyHasher.NewSecret();
        var stored = new StoredKey(id, KeyHasher.Hash(secret), team, models ?? [], expires, time.GetUtcNow(), null);
        if (!await store.TryCreateKeyAsync(stored, ct).ConfigureAwait(false))
        {
            return (null, new GatewayError(GatewayErrorCode.InvalidRequest, $"A key with the id '{id}' exists.", "id") { StatusOverride = 409 });
        }

        await RefreshAsync(config, store, ct).ConfigureAwait(false);
        var json = KeyJson(stored.Id, stored.Team, stored.AllowedModels, stored.ExpiresAt, stored.CreatedAt, null, "api");

        // The only time the secret leaves the gateway: it is stored as a hash and can never be shown again.
        json["secret"] = secret;
        return (json, null);
    }

    private static async Task<IResult> UpdateKeyAsync(string id, HttpContext http, ConfigMonitor config, IAdminStore store)
    {
        var (body, error) = await ReadAsync(http, config).ConfigureAwait(false);
        if (error is { } bad)
        {
            return new ErrorResult(bad);
        }

        var (updated, refused) = await UpdateStoredKeyAsync(id, body!, config, store, http.RequestAborted).ConfigureAwait(false);
        return refused is { } no ? new ErrorResult(no) : new JsonResult(updated!);
    }

    /// <summary>Changes a stored key's team, models or expiry from an admin body. Shared with the dashboard.</summary>
    internal static async Task<(JsonObject? Key, GatewayError? Error)> UpdateStoredKeyAsync(string id, JsonObject body, ConfigMonitor config, IAdminStore store, CancellationToken ct)
    {
        var existing = config.Current.StoredKeys.FirstOrDefault(k => k.Id == id);
        if (existing is null)
        {
            return (null, new GatewayError(GatewayErrorCode.InvalidRequest, $"No key '{id}' was created through the admin API.", "id") { StatusOverride = 404 });
        }

        var fieldError = ReadKeyFields(body, config.Current, out var team, out var models, out var expires);
        if (fieldError is { } badField)
        {
            return (null, badField);
        }

        var updated = existing with
        {
            Team = body.ContainsKey("team") ? team : existing.Team,
            AllowedModels = models ?? existing.AllowedModels,
            ExpiresAt = body.ContainsKey("expires_at") ? expires : existing.ExpiresAt,
        };
        await store.UpdateKeyAsync(updated, ct).ConfigureAwait(false);
        await RefreshAsync(config, store, ct).ConfigureAwait(false);
        return (KeyJson(updated.Id, updated.Team, updated.AllowedModels, updated.ExpiresAt, updated.CreatedAt, updated.RevokedAt, "api"), null);
    }

    private static async Task<IResult> RevokeKeyAsync(string id, HttpContext http, ConfigMonitor config, IAdminStore store, TimeProvider time)
    {
        return await RevokeStoredKeyAsync(id, config, store, time, http.RequestAborted).ConfigureAwait(false) is { } refused
            ? new ErrorResult(refused)
            : new JsonResult(new JsonObject { ["id"] = id, ["revoked"] = true });
    }

    /// <summary>Revokes a stored key for every request from now on. Shared with the dashboard.</summary>
    internal static async Task<GatewayError?> RevokeStoredKeyAsync(string id, ConfigMonitor config, IAdminStore store, TimeProvider time, CancellationToken ct)
    {
        if (!await store.RevokeKeyAsync(id, time.GetUtcNow(), ct).ConfigureAwait(false))
        {
            return new GatewayError(GatewayErrorCode.InvalidRequest, $"No active key '{id}' was created through the admin API.", "id") { StatusOverride = 404 };
        }

        await RefreshAsync(config, store, ct).ConfigureAwait(false);
        return null;
    }

    private static async Task<IResult> ListBudgetsAsync(HttpContext http, ConfigMonitor config, IAdminStore store, IBudgetLedger ledger, TimeProvider time)
    {
        var list = new JsonArray();
        foreach (var view in await BudgetViewsAsync(config, store, ledger, time, http.RequestAborted).ConfigureAwait(false))
        {
            list.Add(BudgetJson.Write(view.Budget, view.Source, view.Window, view.State));
        }

        return new JsonResult(new JsonObject { ["data"] = list });
    }

    /// <summary>Every budget (the file's first, then the stored ones) with its current window and counter. Shared with the dashboard.</summary>
    internal static async Task<IReadOnlyList<BudgetView>> BudgetViewsAsync(ConfigMonitor config, IAdminStore store, IBudgetLedger ledger, TimeProvider time, CancellationToken ct)
    {
        var state = config.Current;
        var budgets = new List<(BudgetDefinition Budget, string Source)>();
        var fromFile = new HashSet<string>(StringComparer.Ordinal);
        foreach (var budget in state.Config.Budgets)
        {
            budgets.Add((budget, "config"));
            fromFile.Add(budget.Id);
        }

        foreach (var budget in await store.ListBudgetsAsync(ct).ConfigureAwait(false))
        {
            if (!fromFile.Contains(budget.Id))
            {
                budgets.Add((budget, "api"));
            }
        }

        var now = time.GetUtcNow();
        var windows = new WindowInstance[budgets.Count];
        var counters = new CounterKey[budgets.Count];
        for (var i = 0; i < budgets.Count; i++)
        {
            windows[i] = BudgetWindows.Current(budgets[i].Budget.Window, BudgetAdmission.ZoneOf(budgets[i].Budget), now);
            counters[i] = new CounterKey(budgets[i].Budget.Id, windows[i].Key);
        }

        var states = await ledger.ReadAsync(counters, ct).ConfigureAwait(false);
        var views = new BudgetView[budgets.Count];
        for (var i = 0; i < budgets.Count; i++)
        {
            views[i] = new BudgetView(budgets[i].Budget, budgets[i].Source, windows[i], states[i]);
        }

        return views;
    }

    private static async Task<IResult> PutBudgetAsync(string id, HttpContext http, ConfigMonitor config, IAdminStore store, TaskBudgets tasks, IBudgetLedger ledger, TimeProvider time)
    {
        var (body, error) = await ReadAsync(http, config).ConfigureAwait(false);
        if (error is { } bad)
        {
            return new ErrorResult(bad);
        }

        var (view, refused) = await PutStoredBudgetAsync(id, body!, config, store, tasks, ledger, time, http.RequestAborted).ConfigureAwait(false);
        return refused is { } no ? new ErrorResult(no) : new JsonResult(BudgetJson.Write(view!.Budget, view.Source, view.Window, view.State));
    }

    /// <summary>Creates or replaces a stored budget from an admin body; file budgets are refused. Shared with the dashboard.</summary>
    internal static async Task<(BudgetView? Budget, GatewayError? Error)> PutStoredBudgetAsync(string id, JsonObject body, ConfigMonitor config, IAdminStore store, TaskBudgets tasks, IBudgetLedger ledger, TimeProvider time, CancellationToken ct)
    {
        var state = config.Current;
        if (BudgetJson.TryRead(id, body, state, out var budget) is { } invalid)
        {
            return (null, invalid);
        }

        if (state.Config.Budgets.Any(b => b.Id == id))
        {
            return (null, new GatewayError(GatewayErrorCode.InvalidRequest, $"The budget '{id}' is defined in the configuration file; change it there.", "id") { StatusOverride = 409 });
        }

        if (ScopeError(budget.Scope, state) is { } unknownScope)
        {
            return (null, unknownScope);
        }

        await store.UpsertBudgetAsync(budget, ct).ConfigureAwait(false);
        tasks.Invalidate(budget.Id);
        await RefreshAsync(config, store, ct).ConfigureAwait(false);
        var window = BudgetWindows.Current(budget.Window, BudgetAdmission.ZoneOf(budget), time.GetUtcNow());
        var counter = await ledger.ReadAsync([new CounterKey(budget.Id, window.Key)], ct).ConfigureAwait(false);
        return (new BudgetView(budget, "api", window, counter[0]), null);
    }

    private static async Task<IResult> DeleteBudgetAsync(string id, HttpContext http, ConfigMonitor config, IAdminStore store, TaskBudgets tasks)
    {
        if (!await store.DeleteBudgetAsync(id, http.RequestAborted).ConfigureAwait(false))
        {
            return new ErrorResult(new GatewayError(GatewayErrorCode.InvalidRequest, $"No budget '{id}' was created through the admin API.", "id") { StatusOverride = 404 });
        }

        tasks.Invalidate(id);
        await RefreshAsync(config, store, http.RequestAborted).ConfigureAwait(false);
        return new JsonResult(new JsonObject { ["id"] = id, ["deleted"] = true });
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
            list.Add(new JsonObject
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
                ["cost_usd"] = r.Cost.ToString(),
                ["status"] = r.Status,
                ["error_code"] = r.ErrorCode,
                ["latency_ms"] = r.LatencyMs,
                ["streamed"] = r.Streamed,
                ["source"] = r.Source.ToString().ToLowerInvariant(),
                ["task_scope"] = r.TaskScope,
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
            list.Add(new JsonObject
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

        query = new UsageQuery { KeyId = q["key_id"], ModelAlias = q["model"], From = from, To = to, Limit = limit };
        return null;
    }

    private static GatewayError? ReadKeyFields(JsonObject body, GatewayState state, out string? team, out IReadOnlyList<string>? models, out DateTimeOffset? expires)
    {
        team = BudgetJson.Text(body, "team");
        models = null;
        expires = null;
        if (team is not null && !state.Config.Teams.ContainsKey(team))
        {
            return BudgetJson.Invalid("team", $"'{team}' is not a team of the configuration");
        }

        if (body["models"] is { } modelsNode)
        {
            if (modelsNode is not JsonArray array)
            {
                return BudgetJson.Invalid("models", "must be a list of model aliases");
            }

            var list = new List<string>(array.Count);
            foreach (var item in array)
            {
                if (item is not JsonValue v || !v.TryGetValue<string>(out var alias) || !state.Models.ContainsKey(alias))
                {
                    return BudgetJson.Invalid("models", $"'{item}' is not a model alias of this gateway");
                }

                list.Add(alias);
            }

            models = list;
        }

        if (BudgetJson.Text(body, "expires_at") is { } expiresText)
        {
            if (!DateTimeOffset.TryParse(expiresText, CultureInfo.InvariantCulture, DateTimeStyles.None, out var at))
            {
                return BudgetJson.Invalid("expires_at", "must be an ISO 8601 time with offset, such as 2027-01-01T00:00:00Z");
            }

            expires = at;
        }

        return null;
    }

    private static GatewayError? ScopeError(ScopeRef scope, GatewayState state) => scope.Kind switch
    {
        ScopeKind.Organization when scope.Id != state.Config.Organization => BudgetJson.Invalid("scope", $"the organisation is '{state.Config.Organization}'"),
        ScopeKind.Team when !state.Config.Teams.ContainsKey(scope.Id) => BudgetJson.Invalid("scope", $"'{scope.Id}' is not a team of the configuration"),
        ScopeKind.Key when !state.Config.Keys.Any(k => k.Id == scope.Id) && !state.StoredKeys.Any(k => k.Id == scope.Id) => BudgetJson.Invalid("scope", $"'{scope.Id}' is not a key"),
        _ => null,
    };

    private static JsonObject KeyJson(string id, string? team, IReadOnlyList<string> models, DateTimeOffset? expires, DateTimeOffset? created, DateTimeOffset? revoked, string source)
    {
        var list = new JsonArray();
        foreach (var m in models)
        {
            list.Add(m);
        }

        return new JsonObject
        {
            ["id"] = id,
            ["team"] = team,
            ["models"] = list,
            ["expires_at"] = expires?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
            ["created_at"] = created?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
            ["revoked_at"] = revoked?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
            ["source"] = source,
        };
    }

    internal static async Task<(JsonObject? Body, GatewayError? Error)> ReadAsync(HttpContext http, ConfigMonitor config)
    {
        var (body, error) = await RequestBody.ReadAsync(http.Request, config.Current.Config.Server.MaxBodyBytes, http.RequestAborted).ConfigureAwait(false);
        return error is { } bad ? (null, bad) : (body.Json, null);
    }

    /// <summary>Makes the admin store's keys, budgets, routes and ensembles the ones every request sees from now on.</summary>
    internal static async Task RefreshAsync(ConfigMonitor config, IAdminStore store, CancellationToken cancellationToken)
    {
        var keys = await store.ListKeysAsync(cancellationToken).ConfigureAwait(false);
        var budgets = await store.ListBudgetsAsync(cancellationToken).ConfigureAwait(false);
        var aliases = await store.ListAliasesAsync(cancellationToken).ConfigureAwait(false);
        config.ApplyStored(keys, budgets, aliases);
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
