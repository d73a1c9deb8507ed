using System.Text.Json.Nodes;
using Purser.Bedtime;
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
        if (BedtimeJson.TryRead(scope, body, _config.Current, out var policy) is { } invalid)
        {
            return (null, invalid);
        }

        if (_bedtime.IsFromFile(policy.Scope.ToString()))
        {
            return (null, new GatewayError(GatewayErrorCode.InvalidRequest, $"The bedtime policy of '{scope}' is defined in the configuration file; change it there.", "scope") { StatusOverride = 409 });
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
            return new GatewayError(GatewayErrorCode.InvalidRequest, $"No bedtime policy for '{scope}' was set through the admin API.", "scope") { StatusOverride = 404 };
        }

        await _changes.PublishAsync(ct).ConfigureAwait(false);
        return null;
    }
}
