using System.Globalization;
using Purser.Budgets;
using Purser.Gateway.Auth;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Logging;
using Purser.Gateway.Pipeline;
using Purser.Gateway.Upstream;
using Purser.Gateway.Wire;
using Purser.Pricing;
using Purser.Providers.Streaming;
using Purser.Responses;
using Purser.Usage;

namespace Purser.Gateway.Responses;

/// <summary>
/// <c>GET /v1/responses/{id}</c>, <c>DELETE /v1/responses/{id}</c>, <c>POST /v1/responses/{id}/cancel</c> and
/// <c>GET /v1/responses/{id}/input_items</c>: forwarded to the provider that created the response (its
/// <see cref="ResponseRoute"/>), for the key that created it only (any other key is told it does not exist). They cost
/// nothing and leave one usage record each — except the retrieval (or cancellation) that first finds a
/// <c>background</c> response finished: it settles that response's open hold from its usage, and its record carries the
/// cost.
/// </summary>
internal sealed class StoredResponsesProxy
{
    private const int MaxUpstreamBodyBytes = 64 * 1024 * 1024;

    private readonly CallOpening _opening;
    private readonly UpstreamClient _upstream;
    private readonly UsageRecorder _usage;
    private readonly ResponseRoutes _routes;
    private readonly IBudgetLedger _ledger;
    private readonly ILogger<StoredResponsesProxy> _logger;

    public StoredResponsesProxy(CallOpening opening, UpstreamClient upstream, UsageRecorder usage, ResponseRoutes routes, IBudgetLedger ledger, ILogger<StoredResponsesProxy> logger)
    {
        _opening = opening;
        _upstream = upstream;
        _usage = usage;
        _routes = routes;
        _ledger = ledger;
        _logger = logger;
    }

    /// <summary>Serves <paramref name="suffix"/> ("" for the response itself, "/cancel", "/input_items") of response <paramref name="id"/>.</summary>
    public Task HandleAsync(HttpContext context, string id, string suffix) =>
        _opening.RunAsync(context, "responses", ApiFormat.OpenAI, static (opened, args) => args.Proxy.RunAsync(opened, args.Id, args.Suffix), (Proxy: this, Id: id, Suffix: suffix));

    private async Task RunAsync(OpenedCall opened, string id, string suffix)
    {
        var (context, call, key, state) = (opened.Context, opened.Call, opened.Key, opened.State);
        var ct = context.RequestAborted;
        var route = await _routes.FindAsync(id, ct).ConfigureAwait(false);
        if (route is null || route.KeyId != key.Id)
        {
            await _opening.FailAsync(opened, new GatewayError(GatewayErrorCode.ResponseNotFound, $"Response with id '{id}' not found.", "response_id")).ConfigureAwait(false);
            return;
        }

        call.ModelAlias = route.ModelAlias;
        call.Provider = route.Provider;
        call.UpstreamModel = route.UpstreamModel;
        if (Target(state, route) is not { } model)
        {
            await _opening.FailAsync(opened, new GatewayError(GatewayErrorCode.ModelNotFound, $"The provider '{route.Provider}' that stored response '{id}' is no longer configured.", "response_id")).ConfigureAwait(false);
            return;
        }

        var method = HttpMethods.IsDelete(context.Request.Method) ? HttpMethod.Delete : HttpMethods.IsPost(context.Request.Method) ? HttpMethod.Post : HttpMethod.Get;
        var uri = new Uri(model.Upstream.ResponsesUri.AbsoluteUri + "/" + Uri.EscapeDataString(id) + suffix + context.Request.QueryString.Value);
        using var upstreamRequest = UpstreamRequest.CreateBodiless(model.Upstream, method, uri);
        using var deadline = _upstream.Deadline(TimeSpan.FromSeconds(state.Config.Server.UpstreamTimeoutSeconds), ct);
        var sent = await _upstream.SendAsync(upstreamRequest, route.Provider, route.ModelAlias, deadline).ConfigureAwait(false);
        if (sent.Response is not { } upstream)
        {
            // A retrieval is free whether or not it reached the provider.
            await _opening.FailAsync(opened, UpstreamErrors.For(sent.Failure, route.Provider, route.ModelAlias, state.Config.Server.UpstreamTimeoutSeconds)).ConfigureAwait(false);
            return;
        }

        byte[] body;
        using (upstream)
        {
            try
            {
                body = await UpstreamBody.ReadBoundedAsync(upstream.Content, MaxUpstreamBodyBytes, deadline.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (UpstreamClient.IsReadFailure(ex))
            {
                await _opening.FailAsync(opened, UpstreamErrors.For(UpstreamClient.ClassifyRead(ex, deadline), route.Provider, route.ModelAlias, state.Config.Server.UpstreamTimeoutSeconds)).ConfigureAwait(false);
                return;
            }

            var status = (int)upstream.StatusCode;
            var ok = status is >= 200 and < 300;
            var (usage, source, cost) = ok && suffix is "" or "/cancel" && method != HttpMethod.Delete && route.PendingHoldId is not null
                ? await SettleBackgroundAsync(route, body, model).ConfigureAwait(false)
                : (default(TokenUsage), UsageSource.None, Money.Zero);
            if (ok && method == HttpMethod.Delete)
            {
                await _routes.ForgetAsync(id).ConfigureAwait(false);
            }

            await _usage.FinishAsync(call, status, ok ? null : "upstream_" + status.ToString(CultureInfo.InvariantCulture), usage, source, cost, null).ConfigureAwait(false);
            if (ct.IsCancellationRequested)
            {
                return;
            }

            var response = context.Response;
            response.StatusCode = status;
            response.ContentType = upstream.Content.Headers.ContentType?.ToString() ?? "application/json";
            response.Headers["x-request-cost"] = cost.ToString();
            response.ContentLength = body.Length;
            await response.Body.WriteAsync(body, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Settles a background response's open hold once it is finished (completed, incomplete, failed or cancelled):
    /// its reported usage at the model's price, clamped to the hold; a finished response without usage ran nothing
    /// billable. Claimed once across instances, so racing retrievals settle it once.
    /// </summary>
    private async Task<(TokenUsage Usage, UsageSource Source, Money Cost)> SettleBackgroundAsync(ResponseRoute route, byte[] body, ResolvedModel model)
    {
        var observer = new ResponsesStreamObserver();
        if (!observer.ObserveResponseObject(body) || observer.Status is not ("completed" or "incomplete" or "failed" or "cancelled"))
        {
            return (default, UsageSource.None, Money.Zero);
        }

        if (!await _routes.TryClaimPendingAsync(route).ConfigureAwait(false))
        {
            return (default, UsageSource.None, Money.Zero);
        }

        var price = model.Model.Price ?? ModelPrice.Free;
        var usage = observer.ReportedUsage ?? default;
        var source = observer.ReportedUsage is null ? UsageSource.None : UsageSource.Reported;
        var cost = source == UsageSource.None ? Money.Zero : price.Cost(usage);
        if (cost > route.PendingHoldAmount || usage.TotalTokens < 0 || usage.InputTokens >= Metering.MaxPlausibleTokens || usage.OutputTokens >= Metering.MaxPlausibleTokens)
        {
            // More than the request could have produced: the hold in full, as for any implausible report.
            Log.ImplausibleUsage(_logger, route.ResponseId, route.Provider);
            usage = new TokenUsage(route.PendingInputBound, 0);
            source = UsageSource.Held;
            cost = route.PendingHoldAmount;
        }

        if (PendingHold.Decode(route.PendingHoldId!, out var holdId))
        {
            try
            {
                await _ledger.SettleAsync(holdId, cost, source == UsageSource.None ? 0 : usage.TotalTokens, CancellationToken.None).ConfigureAwait(false);
            }
            catch (LedgerUnavailableException)
            {
                // The hold stays and expires, charged in full; the record still carries the actual cost.
            }
        }

        return (usage, source, cost);
    }

    private static ResolvedModel? Target(GatewayState state, ResponseRoute route)
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
}
