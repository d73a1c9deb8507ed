using System.Diagnostics;
using Purser.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Telemetry;
using Purser.Pricing;

namespace Purser.Gateway.Budgets;

/// <summary>
/// A request that may start: the model and max_tokens it will use (degraded or not), and its hold on the path's
/// budgets. <see cref="SettleAsync"/> must be called exactly once, with the actual cost, whatever happens next.
/// </summary>
internal sealed class Admission
{
    private int _settled;

    public Admission(string holdId, IReadOnlyList<PathLine> lines, IReadOnlyList<CounterState> states, Money amount, long tokens, ResolvedModel model, ModelPrice price, int maxTokens, string? degraded, bool held)
    {
        HoldId = holdId;
        Lines = lines;
        States = states;
        Amount = amount;
        Tokens = tokens;
        Model = model;
        Price = price;
        MaxTokens = maxTokens;
        Degraded = degraded;
        Held = held;
    }

    public string HoldId { get; }

    /// <summary>The input tokens of the worst case held: what a call that ends without usage is charged as input.</summary>
    public long InputTokens { get; init; }

    public IReadOnlyList<PathLine> Lines { get; }

    /// <summary>Each line's counter after the hold.</summary>
    public IReadOnlyList<CounterState> States { get; }

    /// <summary>The worst-case cost held.</summary>
    public Money Amount { get; }

    public long Tokens { get; }

    public ResolvedModel Model { get; }

    public ModelPrice Price { get; }

    public int MaxTokens { get; }

    /// <summary>"max_tokens=N" or "model=alias" when the request was degraded to fit; null otherwise.</summary>
    public string? Degraded { get; }

    /// <summary>Whether the ledger has a hold to settle (false when no budget is on the path).</summary>
    public bool Held { get; }

    /// <summary>For a draw on a reservation: what remained of it once this request's worst case was held.</summary>
    public Money? ReservationRemaining { get; init; }

    /// <summary>Set when admitted against the fail-open allowance while the ledger was unreachable (nothing held in the ledger).</summary>
    public FailOpenAllowance? FailOpen { get; init; }

    /// <summary>The ledger could not be reached to settle; the hold will expire and be charged in full.</summary>
    public bool SettleFailed { get; private set; }

    /// <summary>The tightest window as the caller sees it while the request runs (its worst case held).</summary>
    public BudgetStanding WhileRunning => BudgetAdmission.Standing(Lines, States, Money.Zero, Money.Zero);

    /// <summary>Releases the hold and charges the actual cost; returns the tightest window afterwards.</summary>
    public async ValueTask<BudgetStanding> SettleAsync(IBudgetLedger ledger, Money actual, long actualTokens)
    {
        if (Interlocked.Exchange(ref _settled, 1) == 1)
        {
            throw new InvalidOperationException("An admission is settled exactly once.");
        }

        FailOpen?.Settle(Amount, actual);
        if (Held)
        {
            var started = TimeProvider.System.GetTimestamp();
            using var span = GatewayTracing.StartLedger("settle");
            try
            {
                // Never cancelled: a settlement must land even when the caller has gone.
                await ledger.SettleAsync(HoldId, actual, actualTokens, CancellationToken.None).ConfigureAwait(false);
                GatewayMetrics.Ledger("settle", TimeProvider.System.GetElapsedTime(started), failed: false);
            }
            catch (LedgerUnavailableException)
            {
                GatewayMetrics.Ledger("settle", TimeProvider.System.GetElapsedTime(started), failed: true);
                span?.SetStatus(ActivityStatusCode.Error, "ledger_unavailable");
                // The ledger is unreachable: the hold stays and expires, charged in full (never under-counted);
                // the usage record still carries the actual cost.
                SettleFailed = true;
            }
        }

        return BudgetAdmission.Standing(Lines, States, Amount, actual);
    }
}
