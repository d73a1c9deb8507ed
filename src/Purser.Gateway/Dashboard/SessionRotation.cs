using Purser.Dashboard;
using Purser.Gateway.Configuration;
using Purser.Gateway.Logging;

namespace Purser.Gateway.Dashboard;

/// <summary>
/// Ends every dashboard session opened with another master key when this instance's configuration brings a new one, in
/// the shared session list, so the sessions end on every instance, also those whose file still has the old key.
/// </summary>
internal sealed class SessionRotation : IHostedService
{
    private readonly ConfigMonitor _config;
    private readonly IDashboardStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<SessionRotation> _logger;
    private string? _adminKeyHash;

    public SessionRotation(ConfigMonitor config, IDashboardStore store, TimeProvider time, ILogger<SessionRotation> logger)
    {
        _config = config;
        _store = store;
        _time = time;
        _logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _adminKeyHash = _config.Current.Config.Server.AdminKeyHash;
        _config.Reloaded += OnReloaded;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _config.Reloaded -= OnReloaded;
        return Task.CompletedTask;
    }

    private void OnReloaded(GatewayState state)
    {
        var hash = state.Config.Server.AdminKeyHash;
        if (hash == Interlocked.Exchange(ref _adminKeyHash, hash))
        {
            return;
        }

        // Raised on the reload's thread under the monitor's lock: the store is written on the thread pool.
        _ = Task.Run(async () =>
        {
            try
            {
                var fingerprint = hash is null ? string.Empty : DashboardSession.Fingerprint(hash);
                var ended = await _store.EndSessionsAsync(fingerprint, _time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
                Log.DashboardSessionsRotated(_logger, ended);
            }
            catch (Exception ex)
            {
                Log.DashboardSessionRotationFailed(_logger, ex);
            }
        });
    }
}
