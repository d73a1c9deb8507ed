using System.Text.Json.Nodes;
using Purser.Admin;
using Purser.Configuration;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Propagation;

namespace Purser.Gateway.AdminServices;

/// <summary>
/// Setting and deleting stored routing and ensemble aliases: the one place that does it, for the admin API and the
/// dashboard. A body is checked by the config file's own parser against the file and the other stored aliases; a change
/// that would break another stored alias is refused with 409. Every change is announced through <see cref="AdminChanges"/>.
/// </summary>
internal sealed class AliasAdmin : IDisposable
{
    private readonly ConfigMonitor _config;
    private readonly IAdminStore _store;
    private readonly AdminChanges _changes;
    private readonly TimeProvider _time;

    // One alias change at a time in this instance: two changes checked against the same state could together make what
    // neither makes alone (a cycle of two new routes). Across instances such a pair is left out of every instance's
    // state (GatewayState composes only what validates) and reported in the alias list.
    private readonly SemaphoreSlim _writes = new(1, 1);

    public AliasAdmin(ConfigMonitor config, IAdminStore store, AdminChanges changes, TimeProvider time)
    {
        _config = config;
        _store = store;
        _changes = changes;
        _time = time;
    }

    /// <summary>Creates or replaces a stored alias from an admin body, validated by the file's parser.</summary>
    public async Task<(JsonObject? Alias, GatewayError? Error)> PutAsync(AliasKind kind, string alias, JsonObject body, CancellationToken ct)
    {
        await _writes.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var state = _config.Current;
            if (StoredAliases.InFile(state.FileConfig, alias))
            {
                return (null, AdminRefusal.Conflict($"The alias '{alias}' is defined in the configuration file; change it there.", "alias"));
            }

            foreach (var stored in state.StoredAliasDefinitions)
            {
                if (stored.Alias == alias && stored.Kind != kind)
                {
                    return (null, AdminRefusal.Conflict($"The alias '{alias}' is a stored {KindName(stored.Kind)}; delete it first.", "alias"));
                }
            }

            // What GET returns may be sent back as it is: its read-only fields are not part of the definition.
            body.Remove("alias");
            body.Remove("source");
            body.Remove("active");
            var candidate = new StoredAlias(alias, kind, AliasJson.DefinitionText(body), _time.GetUtcNow());
            var next = new List<StoredAlias>(state.AppliedAliases.Count + 1);
            foreach (var applied in state.AppliedAliases)
            {
                if (applied.Alias != alias)
                {
                    next.Add(applied);
                }
            }

            next.Add(candidate);
            if (Refusal(state, next, kind, alias) is { } refused)
            {
                return (null, refused);
            }

            await _store.UpsertAliasAsync(candidate, ct).ConfigureAwait(false);
            await _changes.PublishAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _writes.Release();
        }

        var now = _config.Current.Config;
        return (kind == AliasKind.Ensemble ? AliasJson.Write(now.Ensembles[alias], "api") : AliasJson.Write(now.Routes[alias], "api"), null);
    }

    /// <summary>Deletes a stored alias unless another alias in effect still uses it (409).</summary>
    public async Task<GatewayError?> DeleteAsync(AliasKind kind, string alias, CancellationToken ct)
    {
        await _writes.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var state = _config.Current;
            var found = false;
            var remaining = new List<StoredAlias>(state.AppliedAliases.Count);
            foreach (var applied in state.AppliedAliases)
            {
                if (applied.Alias == alias && applied.Kind == kind)
                {
                    found = true;
                }
                else
                {
                    remaining.Add(applied);
                }
            }

            // Only what is in effect can break others; a stored definition that is idle may always go.
            if (found && StoredAliases.Validate(state.FileConfig, remaining, kind, alias) is [var first, ..])
            {
                return AdminRefusal.Conflict($"The {KindName(kind)} '{alias}' is still in use: without it, {first.Field}: {first.Message}.", "alias");
            }

            if (!await _store.DeleteAliasAsync(kind, alias, ct).ConfigureAwait(false))
            {
                return AdminRefusal.NotFound($"No {KindName(kind)} '{alias}' was created through the admin API.", "alias");
            }

            await _changes.PublishAsync(ct).ConfigureAwait(false);
            return null;
        }
        finally
        {
            _writes.Release();
        }
    }

    public void Dispose() => _writes.Dispose();

    /// <summary>
    /// The first error of the new set of stored aliases: 400 naming the field when it is the changed alias's own,
    /// 409 when the change would break another stored alias.
    /// </summary>
    private static GatewayError? Refusal(GatewayState state, IReadOnlyList<StoredAlias> next, AliasKind kind, string alias)
    {
        var errors = StoredAliases.Validate(state.FileConfig, next, kind, alias, strict: true);
        if (errors.Count == 0)
        {
            return null;
        }

        var first = errors[0];
        if (StoredAliases.FieldUnder(first.Field, StoredAliases.PathOf(kind, alias)) is not { } field)
        {
            return AdminRefusal.Conflict($"This change would break another alias: {first.Field}: {first.Message}.", "alias");
        }

        return AdminRefusal.Invalid(errors.Where(e => StoredAliases.FieldUnder(e.Field, StoredAliases.PathOf(kind, alias)) is not null).ToArray(), StoredAliases.PathOf(kind, alias), "alias");
    }

    internal static string KindName(AliasKind kind) => kind == AliasKind.Route ? "route" : "ensemble";
}
