using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using Purser.Configuration;
using Purser.Gateway.Bedtime;
using Purser.Gateway.Auth;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Logging;
using Purser.Gateway.Relay;
using Purser.Gateway.Validation;
using Purser.Gateway.Upstream;
using Purser.Pricing;
using Purser.Providers.Streaming;
using Purser.Providers.Translation;
using Purser.Providers.Usage;
using Purser.Usage;
using Purser.Gateway.Pipeline;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Proxy;

/// <summary>
/// The request path for chat: OpenAI <c>/v1/chat/completions</c> and Anthropic <c>/v1/messages</c>, against an
/// upstream of either kind. Every expected failure is a <see cref="GatewayError"/> value that the one
/// <see cref="ErrorTable"/> turns into a status; the steps open through <see cref="CallOpening"/> and run inside <see cref="CallGuard"/>, so however the request
/// ends its hold is settled and its one usage record written, charged by the rules of <see cref="Metering"/>.
/// <code>
///  1 authenticate ─► 2 read body ─► 3 validate (UTF-8, escapes, duplicates, fields, headers) ─► 4 Bedtime
///        │ 401, no record        │ 4xx, $0                          │ 4xx, $0                       │ 402 / degrade
///        ▼                                                                                          ▼
///  ensemble or route? ──yes──► EnsembleExecutor (same frame, same rules, every sub-call summed)
///        │ no
///  5 resolve model ─► 6 rate limits, admit (hold the worst case, maybe degrade), throttle ─► 7 build upstream body
///        │ 4xx, $0             │ 429 / 402 / 503, $0                                       │ 400, hold released ($0)
///  8 send (UpstreamClient) ─► 9 relay (ChatRelay): error │ whole response │ stream ─► finish: settle + one usage record
///        │ not sent: $0; sent, nothing known: hold in full; usage reported: that (clamped to the hold)
/// </code>
/// </summary>
internal sealed class ChatProxy
{
    private readonly CallOpening _opening;
    private readonly ChatRelay _relay;
    private readonly UpstreamClient _upstream;
    private readonly BudgetAdmission _budgets;
    private readonly BudgetEvents _events;
    private readonly Ensembles.EnsembleExecutor _ensembles;
    private readonly BedtimeGuard _bedtime;
    private readonly RateGate _rates;

    public ChatProxy(CallOpening opening, ChatRelay relay, UpstreamClient upstream, BudgetAdmission budgets, BudgetEvents events, Ensembles.EnsembleExecutor ensembles, BedtimeGuard bedtime, RateGate rates)
    {
        _opening = opening;
        _relay = relay;
        _upstream = upstream;
        _budgets = budgets;
        _events = events;
        _ensembles = ensembles;
        _bedtime = bedtime;
        _rates = rates;
    }

    public Task HandleChatCompletionsAsync(HttpContext context) =>
        _opening.RunAsync(context, "chat", ApiFormat.OpenAI, static (opened, proxy) => proxy.RunAsync(opened), this);

    public Task HandleMessagesAsync(HttpContext context) =>
        _opening.RunAsync(context, "messages", ApiFormat.Anthropic, static (opened, proxy) => proxy.RunAsync(opened), this);

    // Steps 2 to 9; step 1 (authenticate) is the shared opening.
    private async Task RunAsync(OpenedCall opened)
    {
        var (context, call, key, state, callerFormat) = (opened.Context, opened.Call, opened.Key, opened.State, opened.Format);
        var ct = context.RequestAborted;
        var requestId = call.RequestId;

        // 2. What they sent, within the size limit.
        var (raw, bodyError) = await RequestBody.ReadRawAsync(context.Request, state.Config.Server.MaxBodyBytes, ct).ConfigureAwait(false);
        if (bodyError is { } badBody)
        {
            await _opening.FailAsync(opened, badBody).ConfigureAwait(false);
            return;
        }

        using var rawBody = raw!;
        var bodyBytes = rawBody.WrittenCount;

        // 3. Validate everything the path will touch, before anything is held. A plain request is only scanned (the
        // scan itself refuses bad UTF-8, escaped surrogates and duplicate names); any other is checked whole, then
        // parsed and validated field by field.
        var request = (JsonObject?)null;
        string alias;
        bool stream;
        int? callerMaxTokens;
        if (ChatRequestScan.TryScan(rawBody.WrittenSpan, callerFormat, out var scan))
        {
            (alias, stream, callerMaxTokens) = (scan.Alias, scan.Stream, scan.MaxTokens);
        }
        else
        {
            scan = null;
            if (JsonBodyCheck.Check(rawBody.WrittenSpan) is { } badBytes)
            {
                await _opening.FailAsync(opened, badBytes).ConfigureAwait(false);
                return;
            }

            (request, var parseError) = RequestBody.Parse(rawBody.WrittenSpan);
            if (parseError is { } badJson)
            {
                await _opening.FailAsync(opened, badJson).ConfigureAwait(false);
                return;
            }

            if (ChatRequestChecks.ValidateShape(request!, callerFormat, out alias, out stream, out callerMaxTokens) is { } badShape)
            {
                call.ModelAlias = alias;
                await _opening.FailAsync(opened, badShape).ConfigureAwait(false);
                return;
            }
        }

        call.ModelAlias = alias;
        call.Streamed = stream;
        if (ForwardedHeaders.Validate(context.Request.Headers) is { } badForwarded)
        {
            await _opening.FailAsync(opened, badForwarded).ConfigureAwait(false);
            return;
        }

        var headerError = BudgetRequestHeaders.Parse(context.Request.Headers, out var budgetHeaders)
            ?? EndUsers.Resolve(key, rawBody.WrittenSpan, callerFormat == ApiFormat.Anthropic, ref budgetHeaders);
        if (headerError is { } badHeader)
        {
            await _opening.FailAsync(opened, badHeader).ConfigureAwait(false);
            return;
        }

        call.Caller = CallerContext.Of(key, budgetHeaders);

        // 4. Bedtime Mode, before anything is planned: a tripped key or team is refused, or served by its policy's
        // degrade model whatever it asked for (an ensemble included).
        var bedtime = await _bedtime.CheckAsync(state, key, requestId, ct).ConfigureAwait(false);
        call.Bedtime = bedtime.Watches;
        if (bedtime.Error is { } asleep)
        {
            await _opening.FailAsync(opened, asleep).ConfigureAwait(false);
            return;
        }

        if (bedtime.DegradeTo is null && Ensembles.EnsembleExecutor.Handles(state, alias))
        {
            // Ensembles and routing aliases are one request of several calls: planned, reserved and settled as a whole.
            await _ensembles.HandleAsync(context, state, call, key, request ?? ChatRequestChecks.Materialize(rawBody), bodyBytes, callerFormat, stream, callerMaxTokens).ConfigureAwait(false);
            return;
        }

        // 5. Which model, and may this key use it at a known price.
        ResolvedModel model;
        ModelPrice price;
        if (bedtime.DegradeTo is { } nightModel)
        {
            context.Response.Headers["x-bedtime-degraded"] = "model=" + bedtime.DegradeAlias;
            model = nightModel;
            price = nightModel.Model.Price ?? ModelPrice.Free;
        }
        else if (ModelAccess.Resolve(state, key, alias, ModelKind.Chat, out model, out price) is { } badModel)
        {
            await _opening.FailAsync(opened, badModel).ConfigureAwait(false);
            return;
        }

        // The caller's own max_tokens is held as is (never clamped to a configured ceiling that could be wrong), so the
        // worst case held is what the provider may really produce.
        var maxTokens = callerMaxTokens ?? Math.Min(model.Model.DefaultMaxTokens, model.Model.MaxOutputTokens);

        // 6. Budgets: hold the worst case on every budget of the path, degrading the request if a budget allows it.
        call.TaskScope = budgetHeaders.TaskId;
        var (path, pathError) = await _budgets.PathAsync(state, key, budgetHeaders, alias, ct).ConfigureAwait(false);
        if (pathError is { } badPath)
        {
            await _opening.FailAsync(opened, badPath).ConfigureAwait(false);
            return;
        }

        // Issue 13: the worst case is computed from the request's shape (RequestShapes / ChatRequestScan.Shape).
        RequestShape? shape = scan?.Shape(bodyBytes);
        var shapeError = shape is null ? RequestShapes.Read(request!, callerFormat, bodyBytes, out shape) : null;
        // anthropic-beta travels only to an Anthropic upstream (UpstreamRequest); a translated call drops it, so it cannot
        // change what that call is billed (Claude Code sends its own betas on every call, whatever the model).
        shapeError ??= model.Upstream.Kind == ProviderKind.Anthropic ? BetaHeaders.Check(context.Request.Headers, state.Config.Server.AnthropicBetas, shape!) : null;
        if (shapeError is { } badShapeField)
        {
            await _opening.FailAsync(opened, badShapeField).ConfigureAwait(false);
            return;
        }

        // 6a. Rate limits, before anything is held: a refused request leaves no trace in any budget.
        if (await _rates.AdmitAsync(context, call, state, key, budgetHeaders.TaskId, alias, BudgetAdmission.WorstTokens(shape, model, 0, maxTokens), callerFormat).ConfigureAwait(false) is { } limited)
        {
            await _opening.FailAsync(opened, limited).ConfigureAwait(false);
            return;
        }

        var (admission, refusal) = await _budgets.AdmitAsync(
            new AdmissionRequest(requestId, state, path, budgetHeaders.Hint, model, price, 0, maxTokens, HoldTtl(state), Shape: shape,
                ExactCountBody: callerFormat == ApiFormat.OpenAI ? rawBody.WrittenMemory : default,
                Reservation: budgetHeaders.ReservationId is { } reservationId ? new ReservationDraw(reservationId, key.Id) : null),
            ct).ConfigureAwait(false);
        if (refusal is { } refused)
        {
            _events.Blocked(call.Subject, refused);
            await _opening.FailAsync(opened, refused).ConfigureAwait(false);
            return;
        }

        // 6b. A soft budget past its cap may throttle instead of admitting without limit (the hold released if refused).
        if (await _rates.ThrottleAsync(context, call, admission!, callerFormat).ConfigureAwait(false) is { } throttled)
        {
            await _opening.FailAsync(opened, throttled).ConfigureAwait(false);
            return;
        }

        call.Admission = admission;
        call.InputTokenBound = admission!.InputTokens;
        ReservationRequests.ApplyRemaining(context.Response, admission);
        if (admission.Degraded is { } degraded)
        {
            context.Response.Headers["x-budget-degraded"] = degraded;
            if (!string.Equals(degraded, FailOpenAllowance.Marker, StringComparison.Ordinal))
            {
                _events.Degraded(call.Subject, degraded);
            }

            model = admission.Model;
            price = admission.Price;
            if (admission.MaxTokens != maxTokens)
            {
                callerMaxTokens = null;
            }

            maxTokens = admission.MaxTokens;
            if (model.Upstream.Kind == ProviderKind.Anthropic && BetaHeaders.Check(context.Request.Headers, state.Config.Server.AnthropicBetas, shape!) is { } refusedBeta)
            {
                // Degraded onto an Anthropic model, where the betas would travel: the same check, the hold released.
                await _opening.FailAsync(opened, refusedBeta).ConfigureAwait(false);
                return;
            }
        }

        call.Provider = model.Upstream.Name;
        call.UpstreamModel = model.Model.UpstreamModel;
        call.Price = price;

        // A reasoning model's hidden tokens cannot be counted from what is relayed: a stream of it that ends without
        // usage is charged its hold in full.
        call.HiddenOutput = model.Model.Reasoning;

        // 7. The upstream request, translated when the caller and the provider speak different formats.
        var upstreamFormat = model.Upstream.Kind == ProviderKind.Anthropic ? ApiFormat.Anthropic : ApiFormat.OpenAI;
        using var upstreamBuffer = new PooledBufferWriter(bodyBytes + 256);
        var uri = model.ChatUri;
        bool callerWantsUsage;
        HttpRequestMessage upstreamRequest;
        if (scan is not null && callerFormat == upstreamFormat)
        {
            // The scan admitted no stream_options on an OpenAI stream, so the caller did not ask for usage chunks.
            callerWantsUsage = false;
            PassThroughBody.Write(rawBody.WrittenSpan, scan, upstreamBuffer, model.Model.UpstreamModel, callerMaxTokens is null ? maxTokens : null, stream && upstreamFormat == ApiFormat.OpenAI, model.Upstream.UsesMaxCompletionTokens);
            upstreamRequest = UpstreamRequest.Create(model.Upstream, uri, upstreamBuffer, context.Request);
        }
        else
        {
            request ??= ChatRequestChecks.Materialize(rawBody);
            callerWantsUsage = callerFormat == ApiFormat.OpenAI && ChatRequestChecks.WantsStreamUsage(request);
            var translateError = ChatRequestChecks.BuildUpstreamBody(request, callerFormat, upstreamFormat, model, maxTokens, callerMaxTokens is null, stream, out var upstreamBody);
            if (translateError is { } badTranslation)
            {
                await _opening.FailAsync(opened, badTranslation).ConfigureAwait(false);
                return;
            }

            if (upstreamFormat == ApiFormat.OpenAI)
            {
                // Every limit field the upstream reads carries the held limit (issue 13).
                TokenLimitFields.Apply(upstreamBody, callerMaxTokens is null ? maxTokens : null, model.Upstream.UsesMaxCompletionTokens);
            }

            upstreamRequest = UpstreamRequest.Create(model.Upstream, uri, upstreamBody, upstreamBuffer, context.Request);
        }

        using var sentRequest = upstreamRequest;

        // 8. The upstream call, within the configured timeout. A stream is also ended by the caller hanging up (the
        // provider stops generating; what was relayed is charged); a whole response is read to its end even after
        // the caller left, since that is the only way to learn what the provider bills.
        using var deadline = _upstream.Deadline(TimeSpan.FromSeconds(state.Config.Server.UpstreamTimeoutSeconds), stream ? ct : CancellationToken.None);

        // Telemetry (issue 17): the upstream call's span, current until the request settles; null without a tracer.
        using var upstreamSpan = Telemetry.GatewayTracing.StartUpstream(call.Subject);
        if (await _opening.SendAsync(opened, upstreamRequest, model.Upstream.Name, alias, deadline).ConfigureAwait(false) is not { } upstreamResponse)
        {
            return;
        }

        using (upstreamResponse)
        {
            // 9. Relay: an upstream error, a whole response, or a stream frame by frame.
            if (!upstreamResponse.IsSuccessStatusCode)
            {
                await _relay.RelayUpstreamErrorAsync(opened, upstreamResponse, upstreamFormat, deadline.Token).ConfigureAwait(false);
            }
            else if (stream)
            {
                await _relay.RelayStreamAsync(opened, upstreamResponse, upstreamFormat, callerWantsUsage, price, deadline).ConfigureAwait(false);
            }
            else
            {
                await _relay.RelayWholeAsync(opened, upstreamResponse, upstreamFormat, price, deadline).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A hold outlives the longest upstream call, so only a request that truly never settles is expired.</summary>
    private static TimeSpan HoldTtl(GatewayState state) => TimeSpan.FromSeconds(state.Config.Server.UpstreamTimeoutSeconds + 60);
}
