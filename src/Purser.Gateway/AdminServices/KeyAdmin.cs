using System.Globalization;
using System.Text.Json.Nodes;
using Purser.Admin;
using Purser.Configuration;
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
        var state = _config.Current;
        var (read, errors) = AdminEntries.ReadKey(state.Config, AliasJson.DefinitionText(body));
        if (read is not { } key)
        {
            return (null, AdminRefusal.Invalid(errors, AdminEntries.KeyPath, "id"));
        }

        var id = key.Id;
        if (state.Config.Keys.Any(k => k.Id == id))
        {
            return (null, AdminRefusal.Conflict($"The key id '{id}' is defined in the configuration file.", "id"));
        }

        var secret = KeyHasher.NewSecret();
        var stored = new StoredKey(id, KeyHasher.Hash(secret), key.Team, key.AllowedModels, key.ExpiresAt, _time.GetUtcNow(), null) { TrustEndUser = key.TrustEndUser, TrustTags = key.TrustTags };
        if (!await _store.TryCreateKeyAsync(stored, ct).ConfigureAwait(false))
        {
            return (null, AdminRefusal.Conflict($"A key with the id '{id}' exists.", "id"));
        }

        await _changes.PublishAsync(ct).ConfigureAwait(false);
        var json = Write(stored.Id, stored.Team, stored.AllowedModels, stored.ExpiresAt, stored.CreatedAt, null, "api");
        json["trust_end_user"] = stored.TrustEndUser;
        json["trust_tags"] = stored.TrustTags;

        // The only time the secret leaves the gateway: it is stored as a hash and can never be shown again.
        json["secret"] = secret;
        return (json, null);
    }

    /// <summary>
    /// Changes a stored key's team, models, expiry or trust flags from an admin body: the fields present are laid over
    /// the key's current ones and the whole is read by the keys section, so a body with any invalid field changes
    /// nothing, and a field absent keeps its value (null clears the team or the expiry).
    /// </summary>
    public async Task<(JsonObject? Key, GatewayError? Error)> UpdateAsync(string id, JsonObject body, CancellationToken ct)
    {
        var state = _config.Current;
        var existing = state.StoredKeys.FirstOrDefault(k => k.Id == id);
        if (existing is null)
        {
            return (null, AdminRefusal.NotFound($"No key '{id}' was created through the admin API.", "id"));
        }

        // What GET returns may be sent back as it is: its read-only fields are not part of the key's definition.
        foreach (var readOnly in (string[])["created_at", "revoked_at", "source"])
        {
            body.Remove(readOnly);
        }

        var merged = Definition(existing);
        foreach (var (name, value) in body)
        {
            merged[name] = value?.DeepClone();
        }

        var (read, errors) = AdminEntries.ReadKey(state.Config, AliasJson.DefinitionText(merged));
        if (read is not { } key)
        {
            return (null, AdminRefusal.Invalid(errors, AdminEntries.KeyPath, "id"));
        }

        if (key.Id != id)
        {
            return (null, BudgetJson.Invalid("id", $"is the key's id ('{id}') and cannot be changed"));
        }

        var updated = existing with
        {
            TrustEndUser = key.TrustEndUser,
            TrustTags = key.TrustTags,
            Team = key.Team,
            AllowedModels = key.AllowedModels,
            ExpiresAt = key.ExpiresAt,
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
            return AdminRefusal.NotFound($"No active key '{id}' was created through the admin API.", "id");
        }

        await _changes.PublishAsync(ct).ConfigureAwait(false);
        return null;
    }

    /// <summary>A stored key's definition in the shape the keys section reads (what a PATCH body is laid over).</summary>
    private static JsonObject Definition(StoredKey key)
    {
        var models = new JsonArray();
        foreach (var m in key.AllowedModels)
        {
            models.Add((JsonNode?)m);
        }

        return new JsonObject
        {
            ["id"] = key.Id,
            ["team"] = key.Team,
            ["models"] = models,
            ["expires_at"] = key.ExpiresAt?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
            ["trust_end_user"] = key.TrustEndUser,
            ["trust_tags"] = key.TrustTags,
        };
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
