using System.Globalization;
using System.Text.Json.Nodes;
using Purser.Configuration;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Logging;
using Purser.Gateway.Proxy;

namespace Purser.Gateway.Routing;

/// <summary>Streamed calls: a route fails over until a target answers with a success status, then the stream is the caller's to read.</summary>
internal sealed partial class AliasCaller
{
    /// <summary>
    /// Opens a streamed call of <paramref name="alias"/>. Failover happens only before the first byte: once a target
    /// has answered 2xx its stream is relayed, since part of it may already be with the caller.
    /// </summary>
    public async Task<StreamedCall> OpenStreamAsync(GatewayState state, string alias, JsonObject request, int? callerMaxTokens, HttpRequest caller, List<string> tried, CancellationToken ct)
    {
        if (!state.Config.Routes.TryGetValue(alias, out var route))
        {
            tried.Add(alias);
            return await OpenModelStreamAsync(state, state.Models[alias], request, callerMaxTokens, caller, ct).ConfigureAwait(false);
        }

        StreamedCall? last = null;
        foreach (var target in Order(route))
        {
            var opened = await OpenStreamAsync(state, target, request, callerMaxTokens, caller, tried, ct).ConfigureAwait(false);
            if (opened.Failure is not { } failure)
            {
                _health.Succeeded(target);
                return opened;
            }

            if (!failure.Retryable || ct.IsCancellationRequested)
            {
                return opened;
            }

            _health.Failed(target, route.CooldownSeconds);
            Log.RouteFailover(_logger, alias, target, ErrorTable.CodeOf(failure.Error!.Value));
            last = opened;
        }

        return last!;
    }

    private async Task<StreamedCall> OpenModelStreamAsync(GatewayState state, ResolvedModel model, JsonObject request, int? callerMaxTokens, HttpRequest caller, CancellationToken ct)
    {
        var alias = model.Alias;
        if (BuildBody(model, request, callerMaxTokens, null, stream: true, out var body) is { } badBody)
        {
            return new StreamedCall(SubCallResult.Failed(alias, badBody, retryable: false));
        }

        var buffer = new PooledBufferWriter(4096);
        var uri = model.Upstream.Kind == ProviderKind.Anthropic ? model.Upstream.MessagesUri : model.Upstream.ChatCompletionsUri;
        var upstreamRequest = UpstreamRequest.Create(model.Upstream, uri, body, buffer, caller);
        var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(state.Config.Server.UpstreamTimeoutSeconds));
        SubCallResult failure;
        try
        {
            var response = await _http.SendAsync(upstreamRequest, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                return new StreamedCall(model, response, buffer, upstreamRequest, timeout);
            }

            Log.UpstreamFailed(_logger, model.Upstream.Name, alias, ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));
            failure = StatusFailure(alias, model.Upstream.Name, response.StatusCode);
            response.Dispose();
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            failure = SubCallResult.Failed(alias, new GatewayError(GatewayErrorCode.UpstreamTimeout, $"The model '{alias}' did not answer in time."), retryable: false);
        }
        catch (OperationCanceledException)
        {
            Log.UpstreamFailed(_logger, model.Upstream.Name, alias, "timeout");
            failure = SubCallResult.Failed(alias, new GatewayError(GatewayErrorCode.UpstreamTimeout, $"The provider did not answer within {state.Config.Server.UpstreamTimeoutSeconds} s."), retryable: true);
        }
        catch (HttpRequestException ex)
        {
            Log.UpstreamFailed(_logger, model.Upstream.Name, alias, ex.GetType().Name);
            failure = SubCallResult.Failed(alias, new GatewayError(GatewayErrorCode.UpstreamUnreachable, $"The provider '{model.Upstream.Name}' could not be reached."), retryable: true);
        }

        upstreamRequest.Dispose();
        buffer.Dispose();
        timeout.Dispose();
        return new StreamedCall(failure);
    }
}
