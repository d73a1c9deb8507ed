using System.Text.Json.Nodes;
using Purser.Configuration;
using Purser.Gateway.Auth;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Logging;
using Purser.Pricing;
using Purser.Providers.Usage;
using Purser.Usage;

namespace Purser.Gateway.Proxy;

/// <summary>OpenAI <c>/v1/embeddings</c>: a pass-through to an OpenAI-compatible provider, priced on its reported usage.</summary>
internal sealed class EmbeddingsProxy
{
    private readonly ConfigMonitor _config;
    private readonly HttpClient _http;
    private readonly UsageRecorder _usage;
    private readonly BudgetAdmission _budgets;
    private readonly BudgetEvents _events;
    private readonly Bedtime.BedtimeGuard _bedtime;
    private readonly TimeProvider _time;
    private readonly ILogger<EmbeddingsProxy> _logger;

    public EmbeddingsProxy(ConfigMonitor config, HttpClient http, UsageRecorder usage, BudgetAdmission budgets, BudgetEvents events, Bedtime.BedtimeGuard bedtime, TimeProvider time, ILogger<EmbeddingsProxy> logger)
    {
        _bedtime = bedtime;
        _config = config;
        _http = http;
        _usage = usage;
        _budgets = budgets;
        _events = events;
        _time = time;
        _logger = logger;
    }

    public async Task HandleAsync(HttpContext context)
    {
        var started = _time.GetTimestamp();
        var requestId = RequestIds.For(context, _time);
        context.Response.Headers["x-request-id"] = requestId;
        var state = _config.Current;
        var ct = context.RequestAborted;

        // 1. Who is calling.
        if (CallerAuthenticator.Authenticate(context.Request, state, _time, out var key) is { } unauthenticated)
        {
            await ErrorWriter.WriteAsync(context, unauthenticated, ApiFormat.OpenAI).ConfigureAwait(false);
            return;
        }

        var call = new CallRecord(requestId, key!.Id, "embeddings", started);

        // 2. What they sent.
        var (body, bodyError) = await RequestBody.ReadAsync(context.Request, state.Config.Server.MaxBodyBytes, ct).ConfigureAwait(false);
        if (bodyError is { } badBody)
        {
            await FailAsync(context, call, badBody).ConfigureAwait(false);
            return;
        }

        var request = body.Json;
        if (request["model"] is not JsonValue modelValue || !modelValue.TryGetValue<string>(out var alias) || alias.Length == 0)
        {
            await FailAsync(context, call, new GatewayError(GatewayErrorCode.InvalidRequest, "'model' is required and must be a non-empty string.", "model")).ConfigureAwait(false);
            return;
        }

        call.ModelAlias = alias;
        if (request["input"] is not (JsonValue or JsonArray))
        {
            await FailAsync(context, call, new GatewayError(GatewayErrorCode.InvalidRequest, "'input' is required: a string, an array of strings, or an array of token arrays.", "input")).ConfigureAwait(false);
            return;
        }

        // 3. Which model.
        if (ChatProxy.ResolveModel(state, key, alias, ModelKind.Embeddings, out var model, out var price) is { } badModel)
        {
            await FailAsync(context, call, badModel).ConfigureAwait(false);
            return;
        }

        if (model.Upstream.Kind != ProviderKind.OpenAI)
        {
            await FailAsync(context, call, new GatewayError(GatewayErrorCode.WrongModelKind, $"The provider of '{alias}' has no embeddings API.", "model")).ConfigureAwait(false);
            return;
        }

        call.Provider = model.Upstream.Name;
        call.UpstreamModel = model.Model.UpstreamModel;

        // 4a. Bedtime Mode: a tripped key or team is refused (an embedding has no cheaper model to degrade to).
        var bedtime = await _bedtime.CheckAsync(state, key, requestId, ct, allowDegrade: false).ConfigureAwait(false);
        call.Bedtime = bedtime.Watches;
        if (bedtime.Error is { } asleep)
        {
            await FailAsync(context, call, asleep).ConfigureAwait(false);
            return;
        }

        // 4. Budgets: an embedding's worst case is its input bound; nothing to degrade.
        if (BudgetRequestHeaders.Parse(context.Request.Headers, out var budgetHeaders) is { } badHeader)
        {
            await FailAsync(context, call, badHeader).ConfigureAwait(false);
            return;
        }

        call.TaskScope = budgetHeaders.TaskId;
        var (path, pathError) = await _budgets.PathAsync(state, key, budgetHeaders, ct).ConfigureAwait(false);
        if (pathError is { } badPath)
        {
            await FailAsync(context, call, badPath).ConfigureAwait(false);
            return;
        }

        var inputBound = (long)body.ByteCount + InputTokenBound.Margin;
        var (admission, refusal) = await _budgets.AdmitAsync(
            new AdmissionRequest(requestId, state, path, budgetHeaders.Hint, model, price, inputBound, 0, TimeSpan.FromSeconds(state.Config.Server.UpstreamTimeoutSeconds + 60), AllowDegrade: false),
            ct).ConfigureAwait(false);
        if (refusal is { } refused)
        {
            _events.Blocked(call, refused);
            await FailAsync(context, call, refused).ConfigureAwait(false);
            return;
        }

        call.Admission = admission;
        call.InputTokenBound = inputBound;
        request["model"] = model.Model.UpstreamModel;

        // 5. The upstream call.
        using var buffer = new PooledBufferWriter(body.ByteCount + 64);
        using var upstreamRequest = UpstreamRequest.Create(model.Upstream, model.Upstream.EmbeddingsUri, request, buffer, context.Request);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(state.Config.Server.UpstreamTimeoutSeconds));
        byte[] responseBody;
        int status;

        // Telemetry (issue 17): the upstream call's span, current until the request settles; null without a tracer.
        using var upstreamSpan = Telemetry.GatewayTracing.StartUpstream(call);
        try
        {
            using var response = await _http.SendAsync(upstreamRequest, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            status = (int)response.StatusCode;
            responseBody = await ChatProxy.ReadBoundedAsync(response.Content, 256 * 1024 * 1024, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await _usage.FinishAsync(call, 499, "client_closed", default, UsageSource.None, price).ConfigureAwait(false);
            return;
        }
        catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException or IOException or InvalidDataException)
        {
            Log.UpstreamFailed(_logger, model.Upstream.Name, alias, ex.GetType().Name);
            var code = ex is OperationCanceledException ? GatewayErrorCode.UpstreamTimeout : GatewayErrorCode.UpstreamUnreachable;
            await FailAsync(context, call, new GatewayError(code, $"The provider '{model.Upstream.Name}' did not answer.")).ConfigureAwait(false);
            return;
        }

        // 6. Relay with its cost.
        if (status is 401 or 403)
        {
            await FailAsync(context, call, new GatewayError(GatewayErrorCode.UpstreamAuthFailed, $"The provider '{model.Upstream.Name}' refused the gateway's credentials.")).ConfigureAwait(false);
            return;
        }

        var ok = status is >= 200 and < 300;
        TokenUsage usage = default;
        if (ok && !UsageReader.TryReadOpenAi(responseBody, out usage))
        {
            await FailAsync(context, call, new GatewayError(GatewayErrorCode.UpstreamInvalidResponse, $"The provider '{model.Upstream.Name}' returned a response the gateway could not read.")).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        if (ok)
        {
            context.Response.Headers["x-request-cost"] = price.Cost(usage).ToString();
        }

        context.Response.ContentLength = responseBody.Length;
        var standing = await _usage.FinishAsync(call, status, ok ? null : "upstream_" + status, ok ? usage : default, ok ? UsageSource.Reported : UsageSource.None, price).ConfigureAwait(false);
        BudgetHeaders.Apply(context.Response, standing);
        await context.Response.Body.WriteAsync(responseBody, ct).ConfigureAwait(false);
    }

    private async Task FailAsync(HttpContext context, CallRecord call, GatewayError error)
    {
        var standing = await _usage.FinishAsync(call, ErrorTable.StatusOf(error), ErrorTable.CodeOf(error), default, UsageSource.None, ModelPrice.Free).ConfigureAwait(false);
        BudgetHeaders.Apply(context.Response, standing);
        await ErrorWriter.WriteAsync(context, error, ApiFormat.OpenAI).ConfigureAwait(false);
    }
}
