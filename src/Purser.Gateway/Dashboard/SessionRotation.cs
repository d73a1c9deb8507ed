using System.Threading.Channels;
using Purser.Dashboard;
using Purser.Gateway.Configuration;
using Purser.Gateway.Logging;

namespace Purser.Gateway.Dashboard;

/// <summary>
/// Ends every dashboard session opened with another master key when this instance's configuration brings a new one, in
/// the shared session list, so the sessions end on every instance, also those whose file still has the old key.
/// A reload only notes the new key (it runs under the monitor's lock); this service's own loop writes the store, logs
/// a failure and carries on with the next rotation.
/// </summary>
internal sealed class SessionRotation : BackgroundService
{
    private readonly ConfigMonitor _config;
    private readonly IDashboardStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<SessionRotation> _logger;
    private readonly Channel<string?> _rotations = Channel.CreateUnbounded<string?>(new UnboundedChannelOptions { SingleReader = true });
    private string? _adminKeyHash;

    public SessionRotation(ConfigMonitor config, IDashboardStore store, TimeProvider time, ILogger<SessionRotation> logger)
    {
        _config = config;
        _store = store;
        _time = time;
        _logger = logger;
    }

    /// <summary>Raised after each rotation was written (or failed and was logged), with the sessions ended.</summary>
    public event Action<int>? Rotated;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _adminKeyHash = _config.Current.Config.Server.AdminKeyHash;
        _config.Reloaded += OnReloaded;
        return base.StartAsync(cancellationToken);
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        _config.Reloaded -= OnReloaded;
        _rotations.Writer.TryComplete();
        return base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var hash in _rotations.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                var ended = 0;
                try
                {
                    var fingerprint = hash is null ? string.Empty : DashboardSession.Fingerprint(hash);
                    ended = await _store.EndSessionsAsync(fingerprint, _time.GetUtcNow(), stoppingToken).ConfigureAwait(false);
                    Log.DashboardSessionsRotated(_logger, ended);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    Log.DashboardSessionRotationFailed(_logger, ex);
                }

                Rotated?.Invoke(ended);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: a rotation not yet written is dropped; instances with the new key refuse the old sessions anyway.
        }
    }

    private void OnReloaded(GatewayState state)
    {
        var hash = state.Config.Server.AdminKeyHash;
        if (hash != Interlocked.Exchange(ref _adminKeyHash, hash))
        {
            _rotations.Writer.TryWrite(hash);
        }
    }
}
