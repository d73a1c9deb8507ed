using System.Text.Json.Nodes;
using Purser.Bedtime;
using Purser.Configuration;
using Purser.Gateway.Bedtime;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Propagation;

namespace Purser.Gateway.AdminServices;

/// <summary>
/// Setting and deleting stored Bedtime policies: the one place that does it, for the admin API and the dashboard. The
/// config file's policies are read-only here. Every change is announced through <see cref="AdminChanges"/>.
/// </summary>
internal sealed class BedtimeAdmin
{
    private readonly ConfigMonitor _config;
    private readonly IBedtimeStore _store;
    private readonly BedtimeGuard _bedtime;
    private readonly AdminChanges _changes;
    private readonly TimeProvider _time;

    public BedtimeAdmin(ConfigMonitor config, IBedtimeStore store, BedtimeGuard bedtime, AdminChanges changes, TimeProvider time)
    {
        _config = config;
        _store = store;
        _bedtime = bedtime;
        _changes = changes;
        _time = time;
    }

    /// <summary>Sets a stored policy from an admin body; file policies are refused (409).</summary>
    public async Task<(JsonObject? Policy, GatewayError? Error)> PutAsync(string scope, JsonObject body, CancellationToken ct)
    {
        // What GET returns may be sent back as it is: its read-only fields are not part of the definition.
        foreach (var readOnly in (string[])["source", "sleeping", "tripped", "tripped_until", "woken_until", "today_usd", "baseline_usd", "threshold_usd"])
        {
            body.Remove(readOnly);
        }

        var state = _config.Current;
        var (read, errors) = AdminEntries.ReadBedtime(state.Config, AdminRefusal.KeyIds(state), scope, AliasJson.DefinitionText(body));
        if (read is not { } policy)
        {
            return (null, AdminRefusal.Invalid(errors, AdminEntries.BedtimePath(scope), "scope"));
        }

        if (_bedtime.IsFromFile(policy.Scope.ToString()))
        {
            return (null, AdminRefusal.Conflict($"The bedtime policy of '{scope}' is defined in the configuration file; change it there.", "scope"));
        }

        await _store.UpsertAsync(policy, ct).ConfigureAwait(false);
        await _changes.PublishAsync(ct).ConfigureAwait(false);
        return (BedtimeJson.Write(policy, _bedtime, _time.GetUtcNow()), null);
    }

    /// <summary>Deletes a stored policy; 404 when the admin API set none for the scope.</summary>
    public async Task<GatewayError?> DeleteAsync(string scope, CancellationToken ct)
    {
        if (!await _store.DeleteAsync(scope, ct).ConfigureAwait(false))
        {
            return AdminRefusal.NotFound($"No bedtime policy for '{scope}' was set through the admin API.", "scope");
        }

        await _changes.PublishAsync(ct).ConfigureAwait(false);
        return null;
    }
}
