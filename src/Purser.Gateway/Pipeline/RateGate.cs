using System.Globalization;
using Purser.Budgets;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Pipeline;

/// <summary>
/// The rate-limit step of every metered path (chat in both formats, embeddings, routes and ensembles): before the
/// budget hold, take the request from its rate limits or refuse it with a 429 (nothing held, nothing charged); after
/// the hold, apply the throttle of a soft budget past its cap (releasing the hold when the throttle refuses). Either
/// way the caller's standing goes out in the provider's rate-limit headers. The request's ticket rides on its
/// <see cref="CallRecord"/>: settled to the actual tokens by <see cref="UsageRecorder"/>, its concurrency slots freed
/// by <see cref="CallGuard"/> when the request's frame ends.
/// </summary>
internal sealed class RateGate
{
    private readonly RateLimiter _limiter;
    private readonly BudgetEvents _events;
    private readonly IBudgetLedger _ledger;
    private readonly TimeProvider _time;

    public RateGate(RateLimiter limiter, BudgetEvents events, IBudgetLedger ledger, TimeProvider time)
    {
        _limiter = limiter;
        _events = events;
        _ledger = ledger;
        _time = time;
    }

    /// <summary>Takes the request from its rate limits (<paramref name="worstTokens"/> from each tokens limit), or returns the refusal.</summary>
    public async ValueTask<GatewayError?> AdmitAsync(HttpContext context, CallRecord call, GatewayState state, Keys.VirtualKey key, string? taskId, string alias, long worstTokens, ApiFormat format)
    {
        var outcome = await _limiter.AcquireAsync(state, key, taskId, alias, worstTokens, call.Caller?.EndUser).ConfigureAwait(false);
        call.RateStanding = outcome.Standing;
        RateLimitHeaders.Apply(context.Response, outcome.Standing, format, _time.GetUtcNow());
        if (outcome.Error is { } refused)
        {
            // A user:* limit full of end users refuses a new one with a 403, not a rate-limit 429: no such event.
            if (refused.Code != GatewayErrorCode.EndUserLimitReached)
            {
                var limit = outcome.RefusedBy!;
                _events.RateLimited(call.Subject, refused, limit.Scope.ToString(), limit.Id);
            }

            return refused;
        }

        call.RateTicket = outcome.Ticket;
        return null;
    }

    /// <summary>
    /// A soft budget on the path that is past its cap and has <c>throttle_rpm</c> limits the request rate while it
    /// stays there. A refused request's hold is released (settled at $0) and the refusal returned; the caller must then
    /// not settle <paramref name="admission"/> again.
    /// </summary>
    public async ValueTask<GatewayError?> ThrottleAsync(HttpContext context, CallRecord call, Admission admission, ApiFormat format)
    {
        var standing = call.RateStanding;
        var throttled = false;
        for (var i = 0; i < admission.Lines.Count && i < admission.States.Count; i++)
        {
            var budget = admission.Lines[i].Budget;
            if (budget.Degrade?.ThrottleRpm is not { } rpm || budget.Enforcement != Enforcement.Soft || !PastCap(budget, admission.States[i]))
            {
                continue;
            }

            throttled = true;
            var (remaining, resetMs, error) = _limiter.Throttle(budget.Id, rpm);
            standing = standing.WithRequests(rpm, remaining, resetMs);
            context.Response.Headers["x-budget-throttled"] = budget.Id + ";rpm=" + rpm.ToString(CultureInfo.InvariantCulture);
            _events.Throttled(call.Subject, budget.Id, budget.Scope.ToString(), rpm);
            if (error is { } refused)
            {
                await admission.SettleAsync(_ledger, Pricing.Money.Zero, 0).ConfigureAwait(false);
                RateLimitHeaders.Apply(context.Response, standing, format, _time.GetUtcNow());
                _events.RateLimited(call.Subject, refused, budget.Scope.ToString(), budget.Id);
                return refused;
            }
        }

        if (throttled)
        {
            call.RateStanding = standing;
            RateLimitHeaders.Apply(context.Response, standing, format, _time.GetUtcNow());
        }

        return null;
    }

    /// <summary>Past the cap: what was settled in the window reached a cap (the hold of this request not counted).</summary>
    private static bool PastCap(BudgetDefinition budget, CounterState state) =>
        (budget.CapUsd is { } cap && state.Spent >= cap) || (budget.CapTokens is { } tokens && state.SpentTokens >= tokens);
}
