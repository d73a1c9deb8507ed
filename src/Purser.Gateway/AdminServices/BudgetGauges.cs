using System.Diagnostics.Metrics;
using Purser.Admin;
using Purser.Budgets;
using Purser.Gateway.Telemetry;
using Purser.Gateway.Configuration;
using Purser.Gateway.Logging;

namespace Purser.Gateway.AdminServices;

/// <summary>
/// Budget state as gauges, read when a reader collects (a Prometheus scrape, an OTLP export), never on a request:
/// <c>purser.budget.spent</c>, <c>purser.budget.held</c> and <c>purser.budget.remaining</c> (USD, current window),
/// one series per budget of the file and the admin API, tagged with its id, scope and window. Per-task ceilings
/// (x-budget-scope) are not budgets here: their number is the callers' to choose. At most <see cref="MaxBudgets"/>
/// budgets are reported, so the series stay bounded whatever an operator creates. One collection is one ledger read of
/// every current counter, shared by the three gauges.
/// </summary>
internal sealed class BudgetGauges : IDisposable
{
    /// <summary>The cardinality bound: budgets past this many (in listing order: the file's, then the API's) are not reported.</summary>
    public const int MaxBudgets = 1000;

    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    // The three gauges of one collection are observed one after another: one read serves them all.
    private static readonly TimeSpan Reuse = TimeSpan.FromSeconds(1);

    private readonly Meter _meter = new(GatewayMetrics.MeterName);
    private readonly BudgetAdmin _budgets;
    private readonly TimeProvider _time;
    private readonly ILogger<BudgetGauges> _logger;
    private readonly Lock _lock = new();
    private IReadOnlyList<BudgetView> _views = [];
    private long _readAt = long.MinValue;

    public BudgetGauges(BudgetAdmin budgets, TimeProvider time, ILogger<BudgetGauges> logger)
    {
        _budgets = budgets;
        _time = time;
        _logger = logger;
        _meter.CreateObservableGauge("purser.budget.spent", () => Observe(v => v.State.Spent.NanoUsd), "USD", "Spent in the budget's current window, in US dollars.");
        _meter.CreateObservableGauge("purser.budget.held", () => Observe(v => v.State.Held.NanoUsd), "USD", "Held by requests in flight (and unspent leases) in the budget's current window, in US dollars.");
        _meter.CreateObservableGauge("purser.budget.remaining", () => Observe(Remaining), "USD", "Cap minus spent minus held in the budget's current window, in US dollars (budgets with a USD cap).");
    }

    public void Dispose() => _meter.Dispose();

    private static long? Remaining(BudgetView view) =>
        view.Budget.CapUsd is { } cap ? Math.Max(0, cap.NanoUsd - view.State.Spent.NanoUsd - view.State.Held.NanoUsd) : null;

    private List<Measurement<double>> Observe(Func<BudgetView, long?> value)
    {
        var views = Views();
        var measurements = new List<Measurement<double>>(views.Count);
        foreach (var view in views)
        {
            if (value(view) is { } nanoUsd)
            {
                measurements.Add(new Measurement<double>(nanoUsd / 1e9, [
                    new("purser.budget.id", view.Budget.Id),
                    new("purser.budget.scope", view.Budget.Scope.ToString()),
                    new("purser.budget.window", Budgets.BudgetAdmission.WindowName(view.Budget.Window)),
                ]));
            }
        }

        return measurements;
    }

    private IReadOnlyList<BudgetView> Views()
    {
        lock (_lock)
        {
            if (_readAt != long.MinValue && _time.GetElapsedTime(_readAt) < Reuse)
            {
                return _views;
            }

            try
            {
                // A collection callback is synchronous; the read is bounded, and a reader collects every few seconds at most.
                using var timeout = new CancellationTokenSource(ReadTimeout, _time);
                var views = _budgets.ViewsAsync(timeout.Token).GetAwaiter().GetResult();
                _views = views.Count > MaxBudgets ? views.Take(MaxBudgets).ToArray() : views;
            }
            catch (Exception ex) when (ex is LedgerUnavailableException or OperationCanceledException or System.Data.Common.DbException)
            {
                // No gauge points while the ledger is unreachable (a stale value would look current); /readyz says why.
                Log.BudgetGaugesUnavailable(_logger, ex);
                _views = [];
            }

            _readAt = _time.GetTimestamp();
            return _views;
        }
    }
}
