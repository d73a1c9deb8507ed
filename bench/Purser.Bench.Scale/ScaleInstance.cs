using System.Globalization;
using Purser.Budgets;
using Purser.Store.Postgres;
using Purser.Store.Postgres.Ledger;

namespace Purser.Bench.Scale;

/// <summary>
/// One simulated gateway's ledger stack, built as <c>GatewayStorage</c> builds it for PostgreSQL (its own connection
/// pool and migration check, <see cref="SettlementRetry"/> over <see cref="PostgresBudgetLedger"/>, a
/// <see cref="LeasedBudgetLedger"/> in front with an instance id of its own), with a <see cref="CountingLedger"/> under
/// the retry layer, and the gateway's expiry sweep. Disposed in the gateway's order: leases, retries, pool.
/// </summary>
internal sealed class ScaleInstance : IAsyncDisposable
{
    private readonly PostgresDatabase _database;
    private readonly SettlementRetry _settlements;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sweep;

    private ScaleInstance(PostgresDatabase database, SettlementRetry settlements, LeasedBudgetLedger ledger, TimeSpan sweepPeriod, TimeProvider time)
    {
        _database = database;
        _settlements = settlements;
        Ledger = ledger;
        _sweep = SweepAsync(sweepPeriod, time);
    }

    public LeasedBudgetLedger Ledger { get; }

    public static ScaleInstance Open(string connectionString, int index, ScaleOptions options, ShadowAccount shadow, long[] calls, TimeProvider time)
    {
        var database = PostgresDatabase.Open(connectionString);
        var settlements = new SettlementRetry(new CountingLedger(new PostgresBudgetLedger(database), shadow, calls), time);
        var id = "scale-" + index.ToString(CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..6];
        var leases = options.LeaseMax is { } max ? new LeaseOptions { InstanceId = id, MaxLease = max } : new LeaseOptions { InstanceId = id };
        var ledger = new LeasedBudgetLedger(settlements, leases, time);

        // As the gateway's BackgroundLoops does at host start: the retry and the flush run from here on.
        settlements.Start();
        ledger.Start();
        return new ScaleInstance(database, settlements, ledger, options.SweepPeriod, time);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _sweep.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await Ledger.DisposeAsync().ConfigureAwait(false);
        await _settlements.DisposeAsync().ConfigureAwait(false);
        await _database.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    /// <summary>The gateway's LedgerSweep: expire due holds every period (a failed pass is retried at the next).</summary>
    private async Task SweepAsync(TimeSpan period, TimeProvider time)
    {
        while (!_stop.IsCancellationRequested)
        {
            await Task.Delay(period, time, _stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            try
            {
                await Ledger.ExpireAsync(time.GetUtcNow(), _stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is LedgerUnavailableException or OperationCanceledException)
            {
                // The next pass.
            }
        }
    }
}
