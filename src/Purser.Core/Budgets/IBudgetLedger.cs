using Purser.Pricing;

namespace Purser.Budgets;

/// <summary>
/// The single source of truth for budget counters. Every store implements these rules, and one contract test suite
/// checks each implementation against them:
/// <list type="bullet">
/// <item>Reserve is all-or-nothing across the lines and atomic against every concurrent reserve, settle and expiry.</item>
/// <item>A hard <see cref="AccountingMode.Reserve"/> line admits only if spent + held + amount ≤ cap (USD and tokens);
/// a hard <see cref="AccountingMode.PostHoc"/> line admits while spent &lt; cap; a soft line always admits.</item>
/// <item>A granted hold adds amount and tokens to <c>held</c> on its Reserve-mode lines (post-hoc lines hold nothing).</item>
/// <item>Settle releases the hold and adds the actual cost and tokens to <c>spent</c> on every line; a second settle of
/// the same hold changes nothing.</item>
/// <item>Expiry charges an unsettled hold whose time has passed in full (amount and tokens on every line); a later
/// settle corrects the charge to the actual cost.</item>
/// </list>
/// </summary>
public interface IBudgetLedger
{
    ValueTask<HoldOutcome> ReserveAsync(HoldRequest request, CancellationToken cancellationToken);

    ValueTask<SettleOutcome> SettleAsync(string holdId, Money actual, long actualTokens, CancellationToken cancellationToken);

    /// <summary>Charges in full every unsettled hold that expired at or before <paramref name="now"/>; returns how many.</summary>
    ValueTask<int> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken);

    ValueTask<IReadOnlyList<CounterState>> ReadAsync(IReadOnlyList<CounterKey> counters, CancellationToken cancellationToken);

    /// <summary>
    /// The counters of window <paramref name="windowKey"/> whose budget id starts with <paramref name="budgetIdPrefix"/>
    /// (byte-wise), most committed first (spent + held, then budget id), at most <paramref name="limit"/>: the end users
    /// of a <c>user:*</c> budget, whose counters are named "budget-id/end-user".
    /// </summary>
    ValueTask<IReadOnlyList<CounterEntry>> ListAsync(string budgetIdPrefix, string windowKey, int limit, CancellationToken cancellationToken);
}
