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
    private readonly BackgroundSettlement _settlement;
    private readonly TimeProvider _time;
    private readonly ILogger<StoredResponsesProxy> _logger;

    public StoredResponsesProxy(CallOpening opening, UpstreamClient upstream, UsageRecorder usage, ResponseRoutes routes, BackgroundSettlement settlement, TimeProvider time, ILogger<StoredResponsesProxy> logger)
    {
        _opening = opening;
        _upstream = upstream;
        _usage = usage;
        _routes = routes;
        _settlement = settlement;
        _time = time;
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
        if (BackgroundSettlement.Target(state, route) is not { } model)
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
            // The retrieval that first finds a background response finished settles its hold and records its cost; a
            // deleted one that was never seen finished cannot be known any more: its hold, in full.
            var pending = ok && route.PendingHoldId is not null;
            var settled = !pending ? null
                : method == HttpMethod.Delete ? await _settlement.InFullAsync(route, "deleted before it was seen finished").ConfigureAwait(false)
                : suffix is "" or "/cancel" ? await _settlement.FromResponseAsync(route, body, model.Model.Price ?? ModelPrice.Free).ConfigureAwait(false)
                : null;
            var (usage, source, cost) = settled is { } s ? (s.Usage, s.Source, s.Cost) : (default(TokenUsage), UsageSource.None, Money.Zero);
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
}
