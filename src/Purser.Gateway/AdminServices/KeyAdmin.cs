using System.Globalization;
using System.Text.Json.Nodes;
using Purser.Admin;
using Purser.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Propagation;
using Purser.Keys;

namespace Purser.Gateway.AdminServices;

/// <summary>
/// Creating, changing and revoking stored keys: the one place that does it, for the admin API, the dashboard and (over
/// the admin API) the command line. Every change is announced to the other instances through <see cref="AdminChanges"/>.
/// </summary>
internal sealed class KeyAdmin
{
    private readonly ConfigMonitor _config;
    private readonly IAdminStore _store;
    private readonly AdminChanges _changes;
    private readonly TimeProvider _time;

    public KeyAdmin(ConfigMonitor config, IAdminStore store, AdminChanges changes, TimeProvider time)
    {
        _config = config;
        _store = store;
        _changes = changes;
        _time = time;
    }

    /// <summary>Every key, the file's first, as the admin API lists them.</summary>
    public JsonArray List()
    {
        var state = _config.Current;
        var list = new JsonArray();
        foreach (var key in state.Config.Keys)
        {
            list.Add((JsonNode?)Write(key.Id, key.Team, key.AllowedModels, key.ExpiresAt, null, null, "config"));
        }

        foreach (var key in state.StoredKeys)
        {
            list.Add((JsonNode?)Write(key.Id, key.Team, key.AllowedModels, key.ExpiresAt, key.CreatedAt, key.RevokedAt, "api"));
        }

        return list;
    }

    /// <summary>Creates a key from an admin body; the JSON answer carries the secret, the only time it is ever shown.</summary>
    public async Task<(JsonObject? Key, GatewayError? Error)> CreateAsync(JsonObject body, CancellationToken ct)
    {
        var id = BudgetJson.Text(body, "id");
        if (id is null || !ScopeRef.IsValidId(id))
        {
            return (null, BudgetJson.Invalid("id", "must be 1–128 letters, digits, '.', '_', '-' or ':'"));
        }

        var state = _config.Current;
        if (ReadFields(body, state, out var team, out var models, out var expires) is { } badField)
        {
            return (null, badField);
        }

        if (state.Config.Keys.Any(k => k.Id == id))
        {
            return (null, new GatewayError(GatewayErrorCode.InvalidRequest, $"The key id '{id}' is defined in the configuration file.", "id") { StatusOverride = 409 });
        }

        var badFlag = Flag(body, "trust_end_user", false, out var trustEndUser);
        var badTags = Flag(body, "trust_tags", false, out var trustTags);
        if ((badFlag ?? badTags) is { } badTrust)
        {
            return (null, badTrust);
        }

        var secret = KeyHasher.NewSecret();
        var stored = new StoredKey(id, KeyHasher.Hash(secret), team, models ?? [], expires, _time.GetUtcNow(), null) { TrustEndUser = trustEndUser, TrustTags = trustTags };
        if (!await _store.TryCreateKeyAsync(stored, ct).ConfigureAwait(false))
        {
            return (null, new GatewayError(GatewayErrorCode.InvalidRequest, $"A key with the id '{id}' exists.", "id") { StatusOverride = 409 });
        }

        await _changes.PublishAsync(ct).ConfigureAwait(false);
        var json = Write(stored.Id, stored.Team, stored.AllowedModels, stored.ExpiresAt, stored.CreatedAt, null, "api");
        json["trust_end_user"] = stored.TrustEndUser;
        json["trust_tags"] = stored.TrustTags;

        // The only time the secret leaves the gateway: it is stored as a hash and can never be shown again.
        json["secret"] = secret;
        return (json, null);
    }

    /// <summary>Changes a stored key's team, models or expiry from an admin body.</summary>
    public async Task<(JsonObject? Key, GatewayError? Error)> UpdateAsync(string id, JsonObject body, CancellationToken ct)
    {
        var state = _config.Current;
        var existing = state.StoredKeys.FirstOrDefault(k => k.Id == id);
        if (existing is null)
        {
            return (null, new GatewayError(GatewayErrorCode.InvalidRequest, $"No key '{id}' was created through the admin API.", "id") { StatusOverride = 404 });
        }

        if (ReadFields(body, state, out var team, out var models, out var expires) is { } badField)
        {
            return (null, badField);
        }

        var badFlag = Flag(body, "trust_end_user", existing.TrustEndUser, out var trustEndUser);
        var badTags = Flag(body, "trust_tags", existing.TrustTags, out var trustTags);
        if ((badFlag ?? badTags) is { } badTrust)
        {
            return (null, badTrust);
        }

        var updated = existing with
        {
            TrustEndUser = trustEndUser,
            TrustTags = trustTags,
            Team = body.ContainsKey("team") ? team : existing.Team,
            AllowedModels = models ?? existing.AllowedModels,
            ExpiresAt = body.ContainsKey("expires_at") ? expires : existing.ExpiresAt,
        };
        await _store.UpdateKeyAsync(updated, ct).ConfigureAwait(false);
        await _changes.PublishAsync(ct).ConfigureAwait(false);
        var json = Write(updated.Id, updated.Team, updated.AllowedModels, updated.ExpiresAt, updated.CreatedAt, updated.RevokedAt, "api");
        json["trust_end_user"] = updated.TrustEndUser;
        json["trust_tags"] = updated.TrustTags;
        return (json, null);
    }

    /// <summary>Revokes a stored key for every request, on every instance, from now on.</summary>
    public async Task<GatewayError?> RevokeAsync(string id, CancellationToken ct)
    {
        if (!await _store.RevokeKeyAsync(id, _time.GetUtcNow(), ct).ConfigureAwait(false))
        {
            return new GatewayError(GatewayErrorCode.InvalidRequest, $"No active key '{id}' was created through the admin API.", "id") { StatusOverride = 404 };
        }

        await _changes.PublishAsync(ct).ConfigureAwait(false);
        return null;
    }

    /// <summary>An optional boolean field: <paramref name="fallback"/> when absent, a 400 naming it when not a boolean.</summary>
    private static GatewayError? Flag(JsonObject body, string field, bool fallback, out bool value)
    {
        value = fallback;
        if (body[field] is not { } node)
        {
            return null;
        }

        if (node is JsonValue v && v.TryGetValue<bool>(out var flag))
        {
            value = flag;
            return null;
        }

        return BudgetJson.Invalid(field, "must be true or false");
    }

    private static GatewayError? ReadFields(JsonObject body, GatewayState state, out string? team, out IReadOnlyList<string>? models, out DateTimeOffset? expires)
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

    private static JsonObject Write(string id, string? team, IReadOnlyList<string> models, DateTimeOffset? expires, DateTimeOffset? created, DateTimeOffset? revoked, string source)
    {
        var list = new JsonArray();
        foreach (var m in models)
        {
            list.Add((JsonNode?)m);
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
}
