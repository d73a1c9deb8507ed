using System.Text.Json.Nodes;
using Purser.Configuration;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Propagation;
using Purser.RateLimits;

namespace Purser.Gateway.AdminServices;

/// <summary>
/// Listing, setting and deleting rate limits: the one place that does it, for the admin API, the dashboard and the
/// command line. A body is the config file's rate_limits entry as JSON, checked by the file's own parser against the
/// file and every key; every change is announced to the other instances through <see cref="AdminChanges"/>.
/// </summary>
internal sealed class RateLimitAdmin
{
    private readonly ConfigMonitor _config;
    private readonly IRateLimitStore _store;
    private readonly RateLimiter _limiter;
    private readonly AdminChanges _changes;
    private readonly TimeProvider _time;

    public RateLimitAdmin(ConfigMonitor config, IRateLimitStore store, RateLimiter limiter, AdminChanges changes, TimeProvider time)
    {
        _config = config;
        _store = store;
        _limiter = limiter;
        _changes = changes;
        _time = time;
    }

    /// <summary>Every limit in effect (the file's first, then the stored ones), and the stored ones left out with why.</summary>
    public JsonArray List()
    {
        var state = _config.Current;
        var list = new JsonArray();
        foreach (var limit in state.Config.RateLimits)
        {
            list.Add((JsonNode?)RateLimitJson.Write(limit, "config", _limiter.InFlight(limit.Id)));
        }

        foreach (var limit in state.StoredRateLimits)
        {
            list.Add((JsonNode?)RateLimitJson.Write(limit, "api", _limiter.InFlight(limit.Id)));
        }

        foreach (var stored in state.StoredRateLimitDefinitions)
        {
            if (!state.RateLimitIds.Contains(stored.Id))
            {
                list.Add((JsonNode?)new JsonObject { ["id"] = stored.Id, ["source"] = "api", ["active"] = false, ["error"] = ErrorOf(state, stored.Id) });
            }
        }

        return list;
    }

    /// <summary>Creates or replaces a stored limit from an admin body; a limit of the file is refused (409).</summary>
    public async Task<(JsonObject? Limit, GatewayError? Error)> PutAsync(string id, JsonObject body, CancellationToken ct)
    {
        var state = _config.Current;
        if (InFile(state, id))
        {
            return (null, AdminRefusal.Conflict($"The rate limit '{id}' is defined in the configuration file; change it there.", "id"));
        }

        // What GET returns may be sent back as it is: its read-only fields are not part of the definition.
        body.Remove("source");
        body.Remove("active");
        body.Remove("in_flight");
        var definition = AliasJson.DefinitionText(body);
        var (limit, errors) = RateLimitEntries.Parse(state.FileConfig, AdminRefusal.KeyIds(state), id, definition, strict: true);
        if (limit is null)
        {
            return (null, AdminRefusal.Invalid(errors, "rate_limits." + id, "id"));
        }

        await _store.UpsertAsync(new StoredRateLimit(id, definition, _time.GetUtcNow()), ct).ConfigureAwait(false);
        await _changes.PublishAsync(ct).ConfigureAwait(false);
        return (RateLimitJson.Write(limit, "api", _limiter.InFlight(id)), null);
    }

    /// <summary>Deletes a stored limit; a limit of the file or an unknown id is a 404.</summary>
    public async Task<GatewayError?> DeleteAsync(string id, CancellationToken ct)
    {
        if (InFile(_config.Current, id) || !await _store.DeleteAsync(id, ct).ConfigureAwait(false))
        {
            return AdminRefusal.NotFound($"No rate limit '{id}' was created through the admin API.", "id");
        }

        await _changes.PublishAsync(ct).ConfigureAwait(false);
        return null;
    }

    private static bool InFile(GatewayState state, string id)
    {
        foreach (var limit in state.FileConfig.RateLimits)
        {
            if (limit.Id == id)
            {
                return true;
            }
        }

        return false;
    }

    private static string ErrorOf(GatewayState state, string id)
    {
        foreach (var error in state.RateLimitErrors)
        {
            if (StoredAliases.FieldUnder(error.Field, "rate_limits." + id) is not null)
            {
                return error.Field + ": " + error.Message;
            }
        }

        return "not valid against the current configuration";
    }
}
