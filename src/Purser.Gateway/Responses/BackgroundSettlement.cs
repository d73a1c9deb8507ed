using Purser.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Logging;
using Purser.Gateway.Pipeline;
using Purser.Pricing;
using Purser.Providers.Streaming;
using Purser.Responses;
using Purser.Usage;

namespace Purser.Gateway.Responses;

/// <summary>
/// How a <c>background</c> response's pending hold ends, exactly once across instances (the route store's claim): settled
/// from the response's usage when a retrieval — the caller's (<see cref="StoredResponsesProxy"/>) or the sweep's
/// (<see cref="BackgroundResponseSweep"/>) — finds it finished; charged in full when what it cost cannot be known (its
/// hold is about to expire, or the response is gone at the provider). Whoever claims it writes the one usage record
/// that carries the cost, so ledger spent = Σ usage records.
/// </summary>
internal sealed class BackgroundSettlement
{
    private readonly ResponseRoutes _routes;
    private readonly IBudgetLedger _ledger;
    private readonly ILogger<BackgroundSettlement> _logger;

    public BackgroundSettlement(ResponseRoutes routes, IBudgetLedger ledger, ILogger<BackgroundSettlement> logger)
    {
        _routes = routes;
        _ledger = ledger;
        _logger = logger;
    }

    /// <summary>What a settled background response is recorded with.</summary>
    public readonly record struct Settled(TokenUsage Usage, UsageSource Source, Money Cost);

    /// <summary>
    /// Settles the pending hold from a retrieved response object when it is finished (completed, incomplete, failed or
    /// cancelled): its reported usage at <paramref name="price"/>, clamped to the hold; a finished response without usage
    /// ran nothing billable. Null when it is not finished, or another retrieval already settled it.
    /// </summary>
    public async Task<Settled?> FromResponseAsync(ResponseRoute route, byte[] body, ModelPrice price)
    {
        var observer = new ResponsesStreamObserver();
        if (!observer.ObserveResponseObject(body) || observer.Status is not ("completed" or "incomplete" or "failed" or "cancelled"))
        {
            return null;
        }

        if (!await _routes.TryClaimPendingAsync(route).ConfigureAwait(false))
        {
            return null;
        }

        var usage = observer.ReportedUsage ?? default;
        var source = observer.ReportedUsage is null ? UsageSource.None : UsageSource.Reported;
        var cost = source == UsageSource.None ? Money.Zero : price.Cost(usage);
        if (cost > route.PendingHoldAmount || usage.TotalTokens < 0 || usage.InputTokens >= Metering.MaxPlausibleTokens || usage.OutputTokens >= Metering.MaxPlausibleTokens)
        {
            // More than the request could have produced: the hold in full, as for any implausible report.
            Log.ImplausibleUsage(_logger, route.ResponseId, route.Provider);
            return await SettleAsync(route, new Settled(new TokenUsage(route.PendingInputBound, 0), UsageSource.Held, route.PendingHoldAmount)).ConfigureAwait(false);
        }

        return await SettleAsync(route, new Settled(usage, source, cost)).ConfigureAwait(false);
    }

    /// <summary>
    /// Charges the pending hold in full (the request's proven worst case: its bytes went upstream and nothing says what
    /// the provider billed). Null when another retrieval already settled it.
    /// </summary>
    public async Task<Settled?> InFullAsync(ResponseRoute route, string outcome)
    {
        if (!await _routes.TryClaimPendingAsync(route).ConfigureAwait(false))
        {
            return null;
        }

        Log.BackgroundChargedInFull(_logger, route.ResponseId, route.Provider, outcome, route.PendingHoldAmount.ToString());
        return await SettleAsync(route, new Settled(new TokenUsage(route.PendingInputBound, 0), UsageSource.Held, route.PendingHoldAmount)).ConfigureAwait(false);
    }

    /// <summary>The model a stored response's follow-up calls go to: its own alias while it is still that provider's, else any model of the provider.</summary>
    public static ResolvedModel? Target(GatewayState state, ResponseRoute route)
    {
        if (state.Models.TryGetValue(route.ModelAlias, out var byAlias) && byAlias.Upstream.Name == route.Provider)
        {
            return byAlias;
        }

        foreach (var model in state.Models.Values)
        {
            if (model.Upstream.Name == route.Provider)
            {
                return model;
            }
        }

        return null;
    }

    private async Task<Settled?> SettleAsync(ResponseRoute route, Settled settled)
    {
        if (route.PendingHoldId is { } pending && PendingHold.Decode(pending, out var holdId))
        {
            try
            {
                await _ledger.SettleAsync(holdId, settled.Cost, settled.Source == UsageSource.None ? 0 : settled.Usage.TotalTokens, CancellationToken.None).ConfigureAwait(false);
            }
            catch (LedgerUnavailableException)
            {
                // The hold stays and expires, charged in full; the record still carries the actual cost.
            }
        }

        return settled;
    }
}
