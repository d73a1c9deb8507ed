using System.Text.Json.Nodes;
using Purser.Configuration;
using Purser.Gateway.Auth;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Logging;
using Purser.Gateway.Validation;
using Purser.Gateway.Upstream;
using Purser.Pricing;
using Purser.Providers.Usage;
using Purser.Usage;
using Purser.Gateway.Pipeline;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Proxy;

/// <summary>OpenAI <c>/v1/embeddings</c>: a pass-through to an OpenAI-compatible provider, priced on its reported usage.</summary>
internal sealed class EmbeddingsProxy
{
    private const int MaxUpstreamBodyBytes = 256 * 1024 * 1024;

    private readonly CallOpening _opening;
    private readonly UpstreamClient _upstream;
    private readonly UsageRecorder _usage;
    private readonly BudgetAdmission _budgets;
    private readonly BudgetEvents _events;
    private readonly Pipeline.RateGate _rates;
    private readonly Bedtime.BedtimeGuard _bedtime;
    private readonly ILogger<EmbeddingsProxy> _logger;

    public EmbeddingsProxy(CallOpening opening, UpstreamClient upstream, UsageRecorder usage, BudgetAdmission budgets, BudgetEvents events, Bedtime.BedtimeGuard bedtime, Pipeline.RateGate rates, ILogger<EmbeddingsProxy> logger)
    {
        _opening = opening;
        _rates = rates;
        _bedtime = bedtime;
        _upstream = upstream;
        _usage = usage;
        _budgets = budgets;
        _events = events;
        _logger = logger;
    }

    public Task HandleAsync(HttpContext context) =>
        _opening.RunAsync(context, "embeddings", ApiFormat.OpenAI, static (opened, proxy) => proxy.RunAsync(opened), this);

    private async Task RunAsync(OpenedCall opened)
    {
        var (context, call, key, state) = (opened.Context, opened.Call, opened.Key, opened.State);
        var ct = context.RequestAborted;

        // 2. What they sent.
        // 3. Validated on the way in: bytes, escapes and duplicate names, then the fields the gateway reads.
        var (body, bodyError) = await RequestBody.ReadAsync(context.Request, state.Config.Server.MaxBodyBytes, ct).ConfigureAwait(false);
        if (bodyError is { } badBody)
        {
            await _opening.FailAsync(opened, badBody).ConfigureAwait(false);
            return;
        }

        var (request, byteCount) = (body.Json, body.ByteCount);

        if (request["model"] is not JsonValue modelValue || !modelValue.TryGetValue<string>(out var alias) || alias.Length == 0)
        {
            await _opening.FailAsync(opened, new GatewayError(GatewayErrorCode.InvalidRequest, "'model' is required and must be a non-empty string.", "model")).ConfigureAwait(false);
            return;
        }

        call.ModelAlias = alias;
        if (request["input"] is not (JsonValue or JsonArray))
        {
            await _opening.FailAsync(opened, new GatewayError(GatewayErrorCode.InvalidRequest, "'input' is required: a string, an array of strings, or an array of token arrays.", "input")).ConfigureAwait(false);
            return;
        }

        if ((BudgetRequestHeaders.Parse(context.Request.Headers, out var budgetHeaders)
            ?? EndUsers.Resolve(key, request["user"] is JsonValue userValue && userValue.TryGetValue<string>(out var bodyUser) ? bodyUser : null, "user", ref budgetHeaders)) is { } badHeader)
        {
            await _opening.FailAsync(opened, badHeader).ConfigureAwait(false);
            return;
        }

        call.Caller = CallerContext.Of(key, budgetHeaders);

        // 4. Which model.
        if (ModelAccess.Resolve(state, key, alias, ModelKind.Embeddings, out var model, out var price) is { } badModel)
        {
            await _opening.FailAsync(opened, badModel).ConfigureAwait(false);
            return;
        }

        if (!model.Upstream.SpeaksOpenAi)
        {
            await _opening.FailAsync(opened, new GatewayError(GatewayErrorCode.WrongModelKind, $"The provider of '{alias}' has no embeddings API.", "model")).ConfigureAwait(false);
            return;
        }

        call.Provider = model.Upstream.Name;
        call.UpstreamModel = model.Model.UpstreamModel;
        call.Price = price;

        // 5. Bedtime Mode: a tripped key or team is refused (an embedding has no cheaper model to degrade to).
        var bedtime = await _bedtime.CheckAsync(state, key, call.RequestId, ct, allowDegrade: false).ConfigureAwait(false);
        call.Bedtime = bedtime.Watches;
        if (bedtime.Error is { } asleep)
        {
            await _opening.FailAsync(opened, asleep).ConfigureAwait(false);
            return;
        }

        // 6. Budgets: an embedding's worst case is its input bound; nothing to degrade.
        call.TaskScope = budgetHeaders.TaskId;
        var (path, pathError) = await _budgets.PathAsync(state, key, budgetHeaders, alias, ct).ConfigureAwait(false);
        if (pathError is { } badPath)
        {
            await _opening.FailAsync(opened, badPath).ConfigureAwait(false);
            return;
        }

        // The input is text, bounded like a chat's by the one worst-case function (no output, one choice). No context
        // window: an embedding model's window limits each input, and an array of inputs may bill many windows.
        var inputBound = WorstCases.Of(RequestShape.Text(byteCount), model.Model.UpstreamModel, anthropic: false, contextWindow: null, 0).InputTokens;
        // Rate limits before anything is held: an embedding's tokens are its input bound.
        if (await _rates.AdmitAsync(context, call, state, key, budgetHeaders.TaskId, alias, inputBound, ApiFormat.OpenAI).ConfigureAwait(false) is { } limited)
        {
            await _opening.FailAsync(opened, limited).ConfigureAwait(false);
            return;
        }

        var (admission, refusal) = await _budgets.AdmitAsync(
            new AdmissionRequest(call.RequestId, state, path, budgetHeaders.Hint, model, price, inputBound, 0, TimeSpan.FromSeconds(state.Config.Server.UpstreamTimeoutSeconds + 60), AllowDegrade: false,
                Reservation: budgetHeaders.ReservationId is { } reservationId ? new ReservationDraw(reservationId, key.Id) : null),
            ct).ConfigureAwait(false);
        if (refusal is { } refused)
        {
            _events.Blocked(call.Subject, refused);
            await _opening.FailAsync(opened, refused).ConfigureAwait(false);
            return;
        }

        if (await _rates.ThrottleAsync(context, call, admission!, ApiFormat.OpenAI).ConfigureAwait(false) is { } throttled)
        {
            await _opening.FailAsync(opened, throttled).ConfigureAwait(false);
            return;
        }

        call.Admission = admission;
        call.InputTokenBound = inputBound;
        ReservationRequests.ApplyRemaining(context.Response, admission);
        request["model"] = model.Model.UpstreamModel;

        // 7. The upstream call, read to its end within the timeout even if the caller leaves: the answer says what is billed.
        using var buffer = new PooledBufferWriter(byteCount + 64);
        using var upstreamRequest = UpstreamRequest.Create(model.Upstream, model.EmbeddingsUri, request, buffer, context.Request);
        using var deadline = _upstream.Deadline(TimeSpan.FromSeconds(state.Config.Server.UpstreamTimeoutSeconds), CancellationToken.None);

        // Telemetry (issue 17): the upstream call's span, current until the request settles; null without a tracer.
        using var upstreamSpan = Telemetry.GatewayTracing.StartUpstream(call.Subject);
        if (await _opening.SendAsync(opened, upstreamRequest, model.Upstream.Name, alias, deadline).ConfigureAwait(false) is not { } response)
        {
            return;
        }

        byte[] responseBody;
        var status = (int)response.StatusCode;
        using (response)
        {
            if (status is 401 or 403)
            {
                await _opening.FailAsync(opened, UpstreamErrors.For(UpstreamFailure.AuthRejected, model.Upstream.Name, alias, 0)).ConfigureAwait(false);
                return;
            }

            try
            {
                responseBody = await UpstreamBody.ReadBoundedAsync(response.Content, MaxUpstreamBodyBytes, deadline.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (UpstreamClient.IsReadFailure(ex))
            {
                var failure = UpstreamClient.ClassifyRead(ex, deadline);
                await _opening.FailUpstreamAsync(opened, failure, status is >= 200 and < 300 ? Metering.Unknown(call) : Metering.Nothing).ConfigureAwait(false);
                return;
            }
        }

        // 8. Relay with its cost.
        var ok = status is >= 200 and < 300;
        var charge = Metering.Nothing;
        if (ok)
        {
            charge = UsageReader.TryReadOpenAi(responseBody, out var usage) ? Metering.Reported(call, usage, price) : Metering.Unknown(call);
            if (charge.Source != UsageSource.Reported)
            {
                Log.UpstreamFailed(_logger, model.Upstream.Name, alias, charge.Implausible ? "implausible_usage" : "no_usage");
                await _opening.FailUpstreamAsync(opened, UpstreamFailure.InvalidResponse, charge).ConfigureAwait(false);
                return;
            }
        }

        var gone = ct.IsCancellationRequested;
        var standing = await _usage.FinishAsync(call, gone ? 499 : status, gone ? "client_closed" : ok ? null : "upstream_" + status, charge).ConfigureAwait(false);
        if (gone)
        {
            return;
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        if (ok)
        {
            context.Response.Headers["x-request-cost"] = charge.Cost.ToString();
        }

        context.Response.ContentLength = responseBody.Length;
        BudgetHeaders.Apply(context.Response, standing);
        await context.Response.Body.WriteAsync(responseBody, ct).ConfigureAwait(false);
    }
}
