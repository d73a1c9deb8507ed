using System.Globalization;
using System.Text.Json.Nodes;
using Purser.Configuration;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Logging;
using Purser.Gateway.Upstream;
using Purser.Pricing;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Routing;

/// <summary>Streamed calls: a route fails over until a target answers with a success status, then the stream is the caller's to read.</summary>
internal sealed partial class AliasCaller
{
    /// <summary>
    /// Opens a streamed call of <paramref name="alias"/>. Failover happens only before the first byte: once a target
    /// has answered 2xx its stream is relayed, since part of it may already be with the caller.
    /// </summary>
    public async Task<StreamedCall> OpenStreamAsync(GatewayState state, string alias, JsonObject request, int? callerMaxTokens, HttpRequest caller, List<string> tried, long inputBound, SpendAllowance allowance, CancellationToken ct)
    {
        if (!state.Config.Routes.TryGetValue(alias, out var route))
        {
            tried.Add(alias);
            var model = state.Models[alias];
            var worst = WorstCase(model, inputBound, callerMaxTokens);
            if (!allowance.TryTake(worst))
            {
                return new StreamedCall(SubCallResult.Failed(alias, NoHeadroom(alias), retryable: false));
            }

            var opened = await OpenModelStreamAsync(state, model, request, callerMaxTokens, caller, inputBound, ct).ConfigureAwait(false);

            // A stream that opened keeps its worst case taken until it is settled; a failure gives back what it was not charged.
            if (opened.Failure is { } failed)
            {
                allowance.Return(worst, failed.Cost);
            }

            return opened;
        }

        StreamedCall? last = null;
        var charged = Money.Zero;
        var usage = default(Purser.Usage.TokenUsage);
        foreach (var target in Order(route))
        {
            var opened = await OpenStreamAsync(state, target, request, callerMaxTokens, caller, tried, inputBound, allowance, ct).ConfigureAwait(false);
            if (opened.Failure is not { } failure)
            {
                _health.Succeeded(target);
                opened.EarlierAttempts = (charged, usage);
                return opened;
            }

            if (last is not null && failure.Error is { Code: GatewayErrorCode.BudgetExceeded })
            {
                break;
            }

            charged += failure.Cost;
            usage += failure.Usage;
            last?.Dispose();
            last = opened;
            if (!failure.Retryable || ct.IsCancellationRequested)
            {
                break;
            }

            _health.Failed(target, route.CooldownSeconds);
            Log.RouteFailover(_logger, alias, target, ErrorTable.CodeOf(failure.Error!.Value));
        }

        return new StreamedCall(last!.Failure! with { Cost = charged, Usage = usage });
    }

    private async Task<StreamedCall> OpenModelStreamAsync(GatewayState state, ResolvedModel model, JsonObject request, int? callerMaxTokens, HttpRequest caller, long inputBound, CancellationToken ct)
    {
        var alias = model.Alias;
        if (BuildBody(model, request, callerMaxTokens, null, stream: true, out var body) is { } badBody)
        {
            return new StreamedCall(SubCallResult.Failed(alias, badBody, retryable: false));
        }

        var buffer = new PooledBufferWriter(4096);
        var uri = model.ChatUri;
        var upstreamRequest = UpstreamRequest.Create(model.Upstream, uri, body, buffer, caller);
        var deadline = _upstream.Deadline(TimeSpan.FromSeconds(state.Config.Server.UpstreamTimeoutSeconds), ct);
        var sent = await _upstream.SendAsync(upstreamRequest, model.Upstream.Name, alias, deadline).ConfigureAwait(false);
        SubCallResult failure;
        if (sent.Response is { } response)
        {
            if (response.IsSuccessStatusCode)
            {
                return new StreamedCall(model, response, buffer, upstreamRequest, deadline);
            }

            Log.UpstreamFailed(_logger, model.Upstream.Name, alias, ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));
            failure = StatusFailure(alias, model.Upstream.Name, response.StatusCode);
            response.Dispose();
        }
        else
        {
            failure = Failure(state, model, sent.Failure, sent.Sent ? WorstCase(model, inputBound, callerMaxTokens) : Money.Zero, inputBound, callerMaxTokens);
        }

        upstreamRequest.Dispose();
        buffer.Dispose();
        deadline.Dispose();
        return new StreamedCall(failure);
    }
}
