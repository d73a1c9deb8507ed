using System.Globalization;
using System.Text.Json.Nodes;
using Purser.Configuration;
using Purser.Gateway.Auth;
using Purser.Gateway.Bedtime;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Logging;
using Purser.Gateway.Pipeline;
using Purser.Gateway.Proxy;
using Purser.Gateway.Relay;
using Purser.Gateway.Upstream;
using Purser.Gateway.Validation;
using Purser.Gateway.Wire;
using Purser.Pricing;
using Purser.Providers.Streaming;
using Purser.Responses;
using Purser.Usage;

namespace Purser.Gateway.Responses;

/// <summary>
/// <c>POST /v1/responses</c>, the OpenAI Responses API, with the chat path's spend control and in the same frame
/// (<see cref="CallGuard"/>, so every request leaves one usage record and is charged by <see cref="Metering"/>):
/// <code>
///  authenticate ─► read + validate (ResponsesShape) ─► Bedtime ─► resolve model ─► admit the worst case
///   (max_output_tokens, else the model's max output; input text, images, files, tools) ─► send (max_output_tokens
///   always set to what was held) ─► relay: error │ whole response │ stream (every event passed through, in order)
///   ─► settle from the response's usage (input, cached input, output, reasoning) + one usage record
/// </code>
/// Passed through to OpenAI-format providers; translated Responses ⇄ Messages for Anthropic-format ones
/// (<see cref="Providers.Translation.ResponsesToChat"/>, <see cref="AnthropicToResponsesStream"/>). A stored response's id is remembered with the provider that
/// made it (<see cref="ResponseRoutes"/>) for the retrieval routes (<see cref="StoredResponsesProxy"/>). A
/// <c>background</c> response that comes back queued keeps its hold open: its create request is recorded at $0, and the
/// first retrieval that sees it finished settles the hold from its usage and carries the cost in its own record;
/// never retrieved, the hold expires and is charged in full.
/// </summary>
internal sealed class ResponsesProxy
{
    /// <summary>How long a background response's hold stays open before the expiry sweep charges it in full.</summary>
    public static readonly TimeSpan BackgroundHoldTtl = TimeSpan.FromHours(1);

    private const int MaxUpstreamBodyBytes = 64 * 1024 * 1024;

    private readonly CallOpening _opening;
    private readonly ConfigMonitor _config;
    private readonly UpstreamClient _upstream;
    private readonly UsageRecorder _usage;
    private readonly BudgetAdmission _budgets;
    private readonly BudgetEvents _events;
    private readonly BedtimeGuard _bedtime;
    private readonly ResponseRoutes _routes;
    private readonly RateGate _rates;
    private readonly Routing.AliasCaller _aliases;
    private readonly TimeProvider _time;
    private readonly ILogger<ResponsesProxy> _logger;

    public ResponsesProxy(CallOpening opening, ConfigMonitor config, UpstreamClient upstream, UsageRecorder usage, BudgetAdmission budgets, BudgetEvents events, BedtimeGuard bedtime, ResponseRoutes routes, RateGate rates, Routing.AliasCaller aliases, TimeProvider time, ILogger<ResponsesProxy> logger)
    {
        _opening = opening;
        _config = config;
        _upstream = upstream;
        _usage = usage;
        _budgets = budgets;
        _events = events;
        _bedtime = bedtime;
        _routes = routes;
        _rates = rates;
        _aliases = aliases;
        _time = time;
        _logger = logger;
    }

    public Task HandleAsync(HttpContext context) =>
        _opening.RunAsync(context, "responses", ApiFormat.OpenAI, static (opened, proxy) => proxy.RunAsync(opened), this);

    private async Task RunAsync(OpenedCall opened)
    {
        var (context, call, key, state) = (opened.Context, opened.Call, opened.Key, opened.State);
        var ct = context.RequestAborted;
        var (body, bodyError) = await RequestBody.ReadAsync(context.Request, state.Config.Server.MaxBodyBytes, ct).ConfigureAwait(false);
        if (bodyError is { } badBody)
        {
            await _opening.FailAsync(opened, badBody).ConfigureAwait(false);
            return;
        }

        var (request, bodyBytes) = (body.Json, body.ByteCount);

        var shapeError = ResponsesShape.Read(request, bodyBytes, out var fields, out var shape);
        call.ModelAlias = fields.Alias ?? "";
        call.Streamed = fields.Stream;
        shapeError ??= ForwardedHeaders.Validate(context.Request.Headers);
        var headerError = BudgetRequestHeaders.Parse(context.Request.Headers, out var budgetHeaders)
            ?? EndUsers.Resolve(key, request["user"] is System.Text.Json.Nodes.JsonValue user && user.TryGetValue(out string? named) ? named : null, "user", ref budgetHeaders);
        shapeError ??= headerError;
        if (shapeError is { } badRequest)
        {
            await _opening.FailAsync(opened, badRequest).ConfigureAwait(false);
            return;
        }

        call.Caller = CallerContext.Of(key, budgetHeaders);

        var bedtime = await _bedtime.CheckAsync(state, key, call.RequestId, ct).ConfigureAwait(false);
        call.Bedtime = bedtime.Watches;
        if (bedtime.Error is { } asleep)
        {
            await _opening.FailAsync(opened, asleep).ConfigureAwait(false);
            return;
        }

        ResolvedModel model;
        ModelPrice price;
        List<ResponsesTarget>? route = null;
        if (bedtime.DegradeTo is { } nightModel)
        {
            context.Response.Headers["x-bedtime-degraded"] = "model=" + bedtime.DegradeAlias;
            model = nightModel;
            price = nightModel.Model.Price ?? ModelPrice.Free;
        }
        else if (state.Config.Ensembles.ContainsKey(fields.Alias!))
        {
            await _opening.FailAsync(opened, new GatewayError(GatewayErrorCode.InvalidRequest,
                $"'{fields.Alias}' is an ensemble; the Responses API is served by models and routes only. Call a model of it directly, or use /v1/chat/completions.", "model")).ConfigureAwait(false);
            return;
        }
        else if (state.Config.Routes.ContainsKey(fields.Alias!))
        {
            // A route fails over along its targets (those that can serve this request), each attempt charged by the
            // pipeline's rules; its hold is the sum of their worst cases, as for a chat route.
            if (RouteTargets(state, key, request, shape, fields, out route) is { } badTarget)
            {
                await _opening.FailAsync(opened, badTarget).ConfigureAwait(false);
                return;
            }

            (model, price) = (route[0].Model, route[0].Price);
        }
        else if (ModelAccess.Resolve(state, key, fields.Alias!, ModelKind.Chat, out model, out price) is { } badModel)
        {
            await _opening.FailAsync(opened, badModel).ConfigureAwait(false);
            return;
        }

        if (Translate(request, model, 0, out _) is { } untranslatable)
        {
            await _opening.FailAsync(opened, untranslatable).ConfigureAwait(false);
            return;
        }

        // A conversation continued by id must be one this key created, at the provider that holds it.
        if (fields.PreviousResponseId is { } previousId)
        {
            var previous = await _routes.FindAsync(previousId, ct).ConfigureAwait(false);
            if (previous is null || previous.KeyId != key.Id)
            {
                await _opening.FailAsync(opened, new GatewayError(GatewayErrorCode.ResponseNotFound, $"Previous response with id '{previousId}' not found.", "previous_response_id")).ConfigureAwait(false);
                return;
            }

            if (previous.Provider != model.Upstream.Name)
            {
                await _opening.FailAsync(opened, new GatewayError(GatewayErrorCode.InvalidRequest,
                    $"The previous response '{previousId}' is stored at the provider '{previous.Provider}'; continue it with a model served by that provider.", "previous_response_id")).ConfigureAwait(false);
                return;
            }

            ResponsesShape.AddConversation(shape, previous.ConversationTokens);
        }

        // The caller's own max_output_tokens is held as is; without one, the model's whole output limit (which the
        // upstream is then told), so the hold bounds whatever the provider may produce, reasoning included.
        var maxTokens = fields.MaxOutputTokens ?? model.Model.MaxOutputTokens;
        call.TaskScope = budgetHeaders.TaskId;
        var (path, pathError) = await _budgets.PathAsync(state, key, budgetHeaders, fields.Alias, ct).ConfigureAwait(false);
        if (pathError is { } badPath)
        {
            await _opening.FailAsync(opened, badPath).ConfigureAwait(false);
            return;
        }

        // Rate limits, before anything is held: a refused request leaves no trace in any budget.
        var worstTokens = route is null ? BudgetAdmission.WorstTokens(shape, model, 0, maxTokens) : SumTokens(route);
        if (await _rates.AdmitAsync(context, call, state, key, budgetHeaders.TaskId, fields.Alias!, worstTokens, ApiFormat.OpenAI).ConfigureAwait(false) is { } limited)
        {
            await _opening.FailAsync(opened, limited).ConfigureAwait(false);
            return;
        }

        var holdTtl = fields.Background ? BackgroundHoldTtl : TimeSpan.FromSeconds(state.Config.Server.UpstreamTimeoutSeconds + 60);
        var (admission, refusal) = await _budgets.AdmitAsync(
            new AdmissionRequest(call.RequestId, state, path, budgetHeaders.Hint, model, price, 0, maxTokens, holdTtl, AllowDegrade: route is null,
                FixedAmount: route is null ? null : SumCost(route), FixedTokens: route is null ? null : worstTokens, Shape: shape,
                Reservation: budgetHeaders.ReservationId is { } reservationId ? new ReservationDraw(reservationId, key.Id) : null), ct).ConfigureAwait(false);
        if (refusal is { } refused)
        {
            _events.Blocked(call.Subject, refused);
            await _opening.FailAsync(opened, refused).ConfigureAwait(false);
            return;
        }

        // A soft budget past its cap may throttle instead of admitting without limit (the hold released if refused).
        if (await _rates.ThrottleAsync(context, call, admission!, ApiFormat.OpenAI).ConfigureAwait(false) is { } throttled)
        {
            await _opening.FailAsync(opened, throttled).ConfigureAwait(false);
            return;
        }

        call.Admission = admission;
        ReservationRequests.ApplyRemaining(context.Response, admission);
        call.InputTokenBound = admission!.InputTokens;
        if (route is not null)
        {
            call.InputTokenBound = MaxInput(route);
        }

        if (admission.Degraded is { } degraded)
        {
            context.Response.Headers["x-budget-degraded"] = degraded;
            if (!string.Equals(degraded, FailOpenAllowance.Marker, StringComparison.Ordinal))
            {
                _events.Degraded(call.Subject, degraded);
            }

            model = admission.Model;
            price = admission.Price;
            maxTokens = admission.MaxTokens;
        }

        // One target for a model; a route's targets in order, the next tried only on the provider's failure before
        // any byte reached the caller. An attempt that went upstream and failed is charged its worst case (what the
        // provider may bill); the served attempt's charge carries the earlier ones (ResponsesRelay.Earlier).
        route ??= [new ResponsesTarget(model, price, maxTokens, admission!.Amount, admission.Tokens, admission.InputTokens)];
        var earlier = (Cost: Money.Zero, Usage: default(TokenUsage));
        var cooldown = state.Config.Routes.TryGetValue(fields.Alias!, out var routeConfig) ? routeConfig.CooldownSeconds : 0;
        for (var i = 0; i < route.Count; i++)
        {
            var target = route[i];
            var attempt = new Attempt(target, route.Count == 1, i == route.Count - 1, earlier, bodyBytes);
            var outcome = await AttemptAsync(opened, fields, route.Count > 1 ? (JsonObject)request.DeepClone() : request, attempt, state).ConfigureAwait(false);
            if (route.Count > 1)
            {
                _aliases.Attempted(target.Model.Alias, failed: outcome is not null, cooldown);
            }

            if (outcome is not { } failed)
            {
                return;
            }

            if (failed.Sent)
            {
                earlier = (earlier.Cost + target.WorstCost, earlier.Usage + new TokenUsage(target.InputTokens, target.MaxTokens));
            }

            Log.RouteFailover(_logger, fields.Alias!, target.Model.Alias, failed.Reason);
        }
    }

    /// <summary>One attempt: its target, whether it is the call's only one or its last, and what earlier attempts were charged.</summary>
    private readonly record struct Attempt(ResponsesTarget Target, bool Only, bool Last, (Money Cost, TokenUsage Usage) Earlier, int BodyBytes);

    /// <summary>A failed attempt that another target may retry: whether its bytes went upstream, and why it failed.</summary>
    private readonly record struct Retry(bool Sent, string Reason);

    /// <summary>
    /// Sends the request to <paramref name="model"/> and relays its answer; or, when the provider failed before any byte
    /// reached the caller and <paramref name="last"/> is false, answers nothing and returns how it failed.
    /// </summary>
    private async Task<Retry?> AttemptAsync(OpenedCall opened, ResponsesShape.Fields fields, JsonObject request, Attempt attempt, GatewayState state)
    {
        var (context, call) = (opened.Context, opened.Call);
        var ct = context.RequestAborted;
        var (model, price, maxTokens) = (attempt.Target.Model, attempt.Target.Price, attempt.Target.MaxTokens);
        call.Provider = model.Upstream.Name;
        call.UpstreamModel = model.Model.UpstreamModel;
        call.Price = price;
        call.HiddenOutput = model.Model.Reasoning;

        // The upstream body: passed through to an OpenAI-format provider with the held limit; translated for Anthropic
        // (to Messages) and for a chat-only provider (to Chat Completions).
        var anthropic = model.Upstream.Kind == ProviderKind.Anthropic;
        var translated = !model.Upstream.ResponsesApi;
        if (Translate(request, model, maxTokens, out var upstreamBody) is { } badTranslation)
        {
            await _opening.FailAsync(opened, badTranslation).ConfigureAwait(false);
            return null;
        }

        using var buffer = new PooledBufferWriter(attempt.BodyBytes + 256);
        using var upstreamRequest = UpstreamRequest.Create(model.Upstream, translated ? model.ChatUri : model.Upstream.ResponsesUri, upstreamBody!, buffer, context.Request);
        using var deadline = _upstream.Deadline(TimeSpan.FromSeconds(state.Config.Server.UpstreamTimeoutSeconds), fields.Stream ? ct : CancellationToken.None);
        using var upstreamSpan = Telemetry.GatewayTracing.StartUpstream(call.Subject);
        var sent = await _upstream.SendAsync(upstreamRequest, model.Upstream.Name, fields.Alias!, deadline).ConfigureAwait(false);
        if (sent.Sent)
        {
            call.MarkSent();
        }

        var retryable = !attempt.Last && !ct.IsCancellationRequested;
        if (sent.Response is not { } upstreamResponse)
        {
            // A background request that reached the provider is not retried: its hold moves to the queued response.
            if (retryable && UpstreamErrors.ProviderCaused(sent.Failure) && !(fields.Background && sent.Sent))
            {
                return new Retry(sent.Sent, sent.Failure.ToString());
            }

            // Bytes went upstream and nothing can be known: this attempt's worst case (the hold, for a direct call).
            var charge = !sent.Sent ? Metering.Nothing
                : attempt.Only ? Metering.Unknown(call)
                : new Metering.Charge(new TokenUsage(attempt.Target.InputTokens, maxTokens), UsageSource.Held, attempt.Target.WorstCost, false);
            var relay = new ResponsesRelay(context, call, _usage, _routes, _logger, _time, _config) { Earlier = attempt.Earlier };
            await relay.FailUpstreamAsync(sent.Failure, charge).ConfigureAwait(false);
            return null;
        }

        using (upstreamResponse)
        {
            var status = (int)upstreamResponse.StatusCode;
            if (retryable && (status == 429 || status >= 500))
            {
                // A refused request is not billed; its body is left unread.
                return new Retry(false, "upstream_" + status.ToString(CultureInfo.InvariantCulture));
            }

            var relay = new ResponsesRelay(context, call, _usage, _routes, _logger, _time, _config) { Anthropic = anthropic, ChatOnly = translated && !anthropic, MaxOutputTokens = maxTokens, Earlier = attempt.Earlier };
            if (!upstreamResponse.IsSuccessStatusCode)
            {
                await relay.UpstreamErrorAsync(upstreamResponse, deadline.Token).ConfigureAwait(false);
            }
            else if (fields.Stream && UpstreamBody.IsEventStream(upstreamResponse))
            {
                await relay.StreamAsync(upstreamResponse, price, fields.Store && !translated, deadline.Token).ConfigureAwait(false);
            }
            else
            {
                await relay.WholeAsync(upstreamResponse, price, fields with { Store = fields.Store && !translated }, deadline).ConfigureAwait(false);
            }
        }

        return null;
    }

    /// <summary>
    /// The targets of route <c>fields.Alias</c> that can serve this request, in the order they are tried (healthy first),
    /// each resolved for the key (the key must allow the route) and with its worst case; a target whose format cannot
    /// carry the request (built-in tools on a translated provider) is left out; none left is that target's 400.
    /// </summary>
    private GatewayError? RouteTargets(GatewayState state, Keys.VirtualKey key, JsonObject request, RequestShape shape, ResponsesShape.Fields fields, out List<ResponsesTarget> targets)
    {
        targets = [];
        GatewayError? untranslatable = null;
        foreach (var alias in _aliases.ModelsInOrder(state, fields.Alias!))
        {
            if (ModelAccess.Resolve(state, key, alias, ModelKind.Chat, out var model, out var price, calledAs: fields.Alias) is { } badTarget)
            {
                return badTarget;
            }

            if (Translate(request, model, 0, out _) is { } cannot)
            {
                untranslatable ??= cannot;
                continue;
            }

            var max = fields.MaxOutputTokens ?? model.Model.MaxOutputTokens;
            var bound = WorstCases.Of(shape, model.Model.UpstreamModel, model.Upstream.Kind == ProviderKind.Anthropic, model.Model.ContextWindow, max);
            targets.Add(new ResponsesTarget(model, price, max, bound.Cost(price), bound.Tokens, bound.InputTokens));
        }

        return targets.Count == 0 ? untranslatable : null;
    }

    private static Money SumCost(List<ResponsesTarget> targets)
    {
        var sum = Money.Zero;
        foreach (var target in targets)
        {
            sum += target.WorstCost;
        }

        return sum;
    }

    private static long SumTokens(List<ResponsesTarget> targets)
    {
        long sum = 0;
        foreach (var target in targets)
        {
            sum += target.WorstTokens;
        }

        return sum;
    }

    private static long MaxInput(List<ResponsesTarget> targets)
    {
        long most = 0;
        foreach (var target in targets)
        {
            most = Math.Max(most, target.InputTokens);
        }

        return most;
    }

    /// <summary>
    /// The upstream body for <paramref name="model"/>: the request itself for an OpenAI-format provider (with the
    /// upstream model and the held <c>max_output_tokens</c>), or its translation Responses → Chat Completions → Messages
    /// for an Anthropic one, Responses → Chat Completions for a chat-only one (<c>responses: false</c>); a 400 that says
    /// why when it cannot be translated.
    /// </summary>
    private static GatewayError? Translate(JsonObject request, ResolvedModel model, int maxTokens, out JsonObject? upstream)
    {
        upstream = null;
        if (model.Upstream.Kind != ProviderKind.Anthropic && !model.Upstream.ResponsesApi)
        {
            if (!Providers.Translation.ResponsesToChat.TryTranslateRequest(request, out var chatRequest, out var chatError))
            {
                return new GatewayError(GatewayErrorCode.InvalidRequest, chatError.Message, chatError.Param);
            }

            chatRequest["model"] = model.Model.UpstreamModel;
            chatRequest[model.Upstream.UsesMaxCompletionTokens ? "max_completion_tokens" : "max_tokens"] = Math.Max(1, maxTokens);
            if (chatRequest["stream"] is JsonValue stream && stream.TryGetValue(out bool streamed) && streamed)
            {
                // The usage chunk is what the stream is charged by.
                chatRequest["stream_options"] = new JsonObject { ["include_usage"] = true };
            }

            upstream = chatRequest;
            return null;
        }

        if (model.Upstream.Kind != ProviderKind.Anthropic)
        {
            if (maxTokens > 0)
            {
                request["model"] = model.Model.UpstreamModel;
                request["max_output_tokens"] = maxTokens;
            }

            upstream = request;
            return null;
        }

        if (!Providers.Translation.ResponsesToChat.TryTranslateRequest(request, out var chat, out var error)
            || !Providers.Translation.OpenAiToAnthropic.TryTranslateRequest(chat, model.Model.UpstreamModel, Math.Max(1, maxTokens), out upstream, out error))
        {
            return new GatewayError(GatewayErrorCode.InvalidRequest, error.Message, error.Param);
        }

        return null;
    }
}
