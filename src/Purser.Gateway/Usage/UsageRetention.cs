using Purser.Gateway.Configuration;
using Purser.Usage;

namespace Purser.Gateway.Usage;

/// <summary>
/// Prunes the usage records older than <c>usage.retention_days</c> (read at each pass, so a reload applies), in
/// small batches of short transactions: the request path's batched writer gets the database between two batches, so
/// pruning a flood's millions of records never stalls a request for longer than one batch. The hourly roll-ups are
/// kept, so totals over pruned time stay the same. Runs on the injected clock: once at start, then every period.
/// </summary>
internal sealed partial class UsageRetention : BackgroundService
{
    /// <summary>Records deleted per transaction: a few milliseconds of write lock on SQLite.</summary>
    public const int BatchSize = 1000;

    private static readonly TimeSpan Period = TimeSpan.FromMinutes(10);

    private readonly ConfigMonitor _config;
    private readonly IUsageRetention _store;
    private readonly TimeProvider _time;
    private readonly ILogger<UsageRetention> _logger;

    public UsageRetention(ConfigMonitor config, IUsageRetention store, TimeProvider time, ILogger<UsageRetention> logger)
    {
        _config = config;
        _store = store;
        _time = time;
        _logger = logger;
    }

    /// <summary>Raised after every pass with the number of records it deleted (tests wait on it instead of sleeping).</summary>
    public event Action<long>? PassCompleted;

    /// <summary>
    /// One pass: every record older than the retention (from the start of the UTC hour <c>retention_days</c> ago) is
    /// deleted, batch by batch. Returns how many; zero when no retention is configured.
    /// </summary>
    public async Task<long> PruneAsync(CancellationToken ct)
    {
        if (_config.Current.Config.Usage.RetentionDays is not { } days)
        {
            return 0;
        }

        var horizon = DateTimeOffset.FromUnixTimeMilliseconds(UsageOutcome.HourOf((_time.GetUtcNow() - TimeSpan.FromDays(days)).ToUnixTimeMilliseconds()));
        long total = 0;
        while (true)
        {
            var deleted = await _store.PruneAsync(horizon, BatchSize, ct).ConfigureAwait(false);
            total += deleted;
            if (deleted < BatchSize)
            {
                return total;
            }

            // Between two batches the request path's writer takes the database first.
            await Task.Yield();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A delay re-armed after each pass rather than a periodic timer: after a clock jump one pass catches up.
        while (!stoppingToken.IsCancellationRequested)
        {
            long deleted = 0;
            try
            {
                deleted = await PruneAsync(stoppingToken).ConfigureAwait(false);
                if (deleted > 0)
                {
                    Pruned(_logger, deleted, _config.Current.Config.Usage.RetentionDays ?? 0);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                PruneFailed(_logger, ex);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            PassCompleted?.Invoke(deleted);
            try
            {
                await Task.Delay(Period, _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(1701, LogLevel.Information, "Pruned {Count} usage records older than {Days} days (their hourly roll-ups are kept)")]
    private static partial void Pruned(ILogger logger, long count, int days);

    [LoggerMessage(1702, LogLevel.Error, "Pruning usage records failed; the next pass retries")]
    private static partial void PruneFailed(ILogger logger, Exception exception);
}
