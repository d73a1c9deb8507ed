using Purser.Admin;
using Purser.Gateway.Logging;

namespace Purser.Gateway.Propagation;

/// <summary>
/// Makes operators' changes made on any instance take effect here (PostgreSQL only): a connection in <c>LISTEN</c>
/// wakes a reload when a change is announced; every <see cref="PollPeriod"/> the shared version is compared with the
/// applied one, in case an announcement was lost; after every (re)connect everything is reloaded, since announcements
/// sent while it was away are gone. A failed listener reconnects with exponential backoff on the injected clock.
/// </summary>
internal sealed class ChangeListener : BackgroundService
{
    /// <summary>The fallback check's period: the bound on how late a change is when its announcement was missed.</summary>
    public static readonly TimeSpan PollPeriod = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(15);

    private readonly IChangeFeed? _changes;
    private readonly SharedState _state;
    private readonly AdminChanges _admin;
    private readonly TimeProvider _time;
    private readonly ILogger<ChangeListener> _logger;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private long _announced;
    private volatile bool _connected;

    public ChangeListener(SharedState state, AdminChanges admin, TimeProvider time, ILogger<ChangeListener> logger, IChangeFeed? changes = null)
    {
        _changes = changes;
        _state = state;
        _admin = admin;
        _time = time;
        _logger = logger;
    }

    /// <summary>Whether the listener is connected and has done its full reload (false while it reconnects).</summary>
    public bool Listening => _connected;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Two loops, owned by this service: the host starts them and its stop cancels and awaits both. Each catches,
        // logs and goes on (the listener reconnects, the applier waits for the next announcement or check).
        return _changes is null
            ? Task.CompletedTask
            : Task.WhenAll(ListenAsync(_changes, stoppingToken), ApplyAsync(stoppingToken));
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    private async Task ListenAsync(IChangeFeed changes, CancellationToken stopping)
    {
        var retry = FirstRetry;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await changes.ListenAsync(
                    async ct =>
                    {
                        retry = FirstRetry;
                        await _state.ReloadAsync("listener connected", ct).ConfigureAwait(false);
                        _connected = true;
                        Log.ChangeListenerListening(_logger, _state.AppliedVersion);
                    },
                    Announced,
                    stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                _connected = false;
                Log.ChangeListenerFailed(_logger, (long)retry.TotalMilliseconds, (long)PollPeriod.TotalMilliseconds, ex);
            }

            try
            {
                await Task.Delay(retry, _time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            retry = retry * 2 < MaxRetry ? retry * 2 : MaxRetry;
        }
    }

    /// <summary>From the listener's connection: note the version and wake the applying loop (no I/O here).</summary>
    private void Announced(long version)
    {
        long seen;
        do
        {
            seen = Interlocked.Read(ref _announced);
        }
        while (version > seen && Interlocked.CompareExchange(ref _announced, version, seen) != seen);

        if (_wake.CurrentCount == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
                // Another announcement woke it in between: one wake covers both.
            }
        }
    }

    private async Task ApplyAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            bool announced;
            using (var period = new CancellationTokenSource(PollPeriod, _time))
            using (var either = CancellationTokenSource.CreateLinkedTokenSource(stopping, period.Token))
            {
                try
                {
                    await _wake.WaitAsync(either.Token).ConfigureAwait(false);
                    announced = true;
                }
                catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
                {
                    announced = false;
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            try
            {
                await _admin.RetryUnannouncedAsync(stopping).ConfigureAwait(false);
                if (announced)
                {
                    await _state.ApplyAsync(Interlocked.Read(ref _announced), "announced", stopping).ConfigureAwait(false);
                }
                else
                {
                    await _state.CatchUpAsync(stopping).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.ChangesApplyFailed(_logger, ex);
            }
        }
    }
}
