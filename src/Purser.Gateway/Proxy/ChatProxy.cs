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
/// <see cref="ErrorTable"/> turns into a status; the steps run inside <see cref="CallGuard"/>, so however the request
/// ends its hold is settled and its one usage record written, charged by the rules of <see cref="Metering"/>.
/// <code>
///  1 authenticate ─► 2 read body ─► 3 validate (UTF-8, escapes, duplicates, fields, headers) ─► 4 Bedtime
///        │ 401, no record        │ 4xx, $0                          │ 4xx, $0                       │ 402 / degrade
///        ▼                                                                                          ▼
///  ensemble or route? ──yes──► EnsembleExecutor (same frame, same rules, every sub-call summed)
///        │ no
///  5 resolve model ─► 6 rate limits, admit (hold the worst case, maybe degrade), throttle ─► 7 build upstream body
///        │ 4xx, $0             │ 429 / 402 / 503, $0                                       │ 400, hold released ($0)
///  8 send (UpstreamClient) ─► 9 relay: error │ whole response │ stream ─► finish: settle + one usage record
///        │ not sent: $0; sent, nothing known: hold in full; usage reported: that (clamped to the hold)
/// </code>
/// </summary>
internal sealed class ChatProxy
{
    private const int MaxUpstreamBodyBytes = 64 * 1024 * 1024;

    private readonly ConfigMonitor _config;
    private readonly UpstreamClient _upstream;
    private readonly UsageRecorder _usage;
    private readonly CallGuard _guard;
    private readonly BudgetAdmission _budgets;
    private readonly BudgetEvents _events;
    private readonly Ensembles.EnsembleExecutor _ensembles;
    private readonly BedtimeGuard _bedtime;
    private readonly RateGate _rates;
    private readonly TimeProvider _time;
    private readonly ILogger<ChatProxy> _logger;

    public ChatProxy(ConfigMonitor config, UpstreamClient upstream, UsageRecorder usage, CallGuard guard, BudgetAdmission budgets, BudgetEvents events, Ensembles.EnsembleExecutor ensembles, BedtimeGuard bedtime, RateGate rates, TimeProvider time, ILogger<ChatProxy> logger)
    {
        _rates = rates;
        _ensembles = ensembles;
        _bedtime = bedtime;
        _config = config;
        _upstream = upstream;
        _usage = usage;
        _guard = guard;
        _budgets = budgets;
        _events = events;
        _time = time;
        _logger = logger;
    }

    public Task HandleChatCompletionsAsync(HttpContext context) => HandleAsync(context, ApiFormat.OpenAI);

    public Task HandleMessagesAsync(HttpContext context) => HandleAsync(context, ApiFormat.Anthropic);

    private async Task HandleAsync(HttpContext context, ApiFormat callerFormat)
    {
        var started = _time.GetTimestamp();
        var requestId = RequestIds.For(context, _time);
        context.Response.Headers["x-request-id"] = requestId;
        var state = _config.Current;

        // 1. Who is calling. An unauthenticated request leaves no usage record: there is no key to charge.
        var authError = CallerAuthenticator.Authenticate(context.Request, state, _time, out var key);
        if (authError is { } unauthenticated)
        {
            await ErrorWriter.WriteAsync(context, unauthenticated, callerFormat).ConfigureAwait(false);
            return;
        }

        var call = new CallRecord(requestId, key!.Id, callerFormat == ApiFormat.Anthropic ? "messages" : "chat", started);
        await _guard.RunAsync(context, call, callerFormat, static args => args.Proxy.RunAsync(args.Context, args.Call, args.Key, args.State, args.Format),
            (Proxy: this, Context: context, Call: call, Key: key, State: state, Format: callerFormat)).ConfigureAwait(false);
    }

    private async Task RunAsync(HttpContext context, CallRecord call, Keys.VirtualKey key, GatewayState state, ApiFormat callerFormat)
    {
        var ct = context.RequestAborted;
        var requestId = call.RequestId;

        // 2. What they sent, within the size limit.
        var (raw, bodyError) = await RequestBody.ReadRawAsync(context.Request, state.Config.Server.MaxBodyBytes, ct).ConfigureAwait(false);
        if (bodyError is { } badBody)
        {
            await FailAsync(context, call, badBody, callerFormat).ConfigureAwait(false);
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
                await FailAsync(context, call, badBytes, callerFormat).ConfigureAwait(false);
                return;
            }

            (request, var parseError) = RequestBody.Parse(rawBody.WrittenSpan);
            if (parseError is { } badJson)
            {
                await FailAsync(context, call, badJson, callerFormat).ConfigureAwait(false);
                return;
            }

            if (ValidateShape(request!, callerFormat, out alias, out stream, out callerMaxTokens) is { } badShape)
            {
                call.ModelAlias = alias;
                await FailAsync(context, call, badShape, callerFormat).ConfigureAwait(false);
                return;
            }
        }

        call.ModelAlias = alias;
        call.Streamed = stream;
        if (ForwardedHeaders.Validate(context.Request.Headers) is { } badForwarded)
        {
            await FailAsync(context, call, badForwarded, callerFormat).ConfigureAwait(false);
            return;
        }

        var headerError = BudgetRequestHeaders.Parse(context.Request.Headers, out var budgetHeaders)
            ?? EndUsers.Resolve(key, rawBody.WrittenSpan, callerFormat == ApiFormat.Anthropic, ref budgetHeaders);
        if (headerError is { } badHeader)
        {
            await FailAsync(context, call, badHeader, callerFormat).ConfigureAwait(false);
            return;
        }

        call.Caller = CallerContext.Of(key, budgetHeaders);

        // 4. Bedtime Mode, before anything is planned: a tripped key or team is refused, or served by its policy's
        // degrade model whatever it asked for (an ensemble included).
        var bedtime = await _bedtime.CheckAsync(state, key, requestId, ct).ConfigureAwait(false);
        call.Bedtime = bedtime.Watches;
        if (bedtime.Error is { } asleep)
        {
            await FailAsync(context, call, asleep, callerFormat).ConfigureAwait(false);
            return;
        }

        if (bedtime.DegradeTo is null && Ensembles.EnsembleExecutor.Handles(state, alias))
        {
            // Ensembles and routing aliases are one request of several calls: planned, reserved and settled as a whole.
            await _ensembles.HandleAsync(context, state, call, key, request ?? Materialize(rawBody), bodyBytes, callerFormat, stream, callerMaxTokens).ConfigureAwait(false);
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
        else if (ResolveModel(state, key, alias, ModelKind.Chat, out model, out price) is { } badModel)
        {
            await FailAsync(context, call, badModel, callerFormat).ConfigureAwait(false);
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
            await FailAsync(context, call, badPath, callerFormat).ConfigureAwait(false);
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
            await FailAsync(context, call, badShapeField, callerFormat).ConfigureAwait(false);
            return;
        }

        // 6a. Rate limits, before anything is held: a refused request leaves no trace in any budget.
        if (await _rates.AdmitAsync(context, call, state, key, budgetHeaders.TaskId, alias, BudgetAdmission.WorstTokens(shape, model, 0, maxTokens), callerFormat).ConfigureAwait(false) is { } limited)
        {
            await FailAsync(context, call, limited, callerFormat).ConfigureAwait(false);
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
            await FailAsync(context, call, refused, callerFormat).ConfigureAwait(false);
            return;
        }

        // 6b. A soft budget past its cap may throttle instead of admitting without limit (the hold released if refused).
        if (await _rates.ThrottleAsync(context, call, admission!, callerFormat).ConfigureAwait(false) is { } throttled)
        {
            await FailAsync(context, call, throttled, callerFormat).ConfigureAwait(false);
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
                await FailAsync(context, call, refusedBeta, callerFormat).ConfigureAwait(false);
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
            request ??= Materialize(rawBody);
            callerWantsUsage = callerFormat == ApiFormat.OpenAI && WantsStreamUsage(request);
            var translateError = BuildUpstreamBody(request, callerFormat, upstreamFormat, model, maxTokens, callerMaxTokens is null, stream, out var upstreamBody);
            if (translateError is { } badTranslation)
            {
                await FailAsync(context, call, badTranslation, callerFormat).ConfigureAwait(false);
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
        var sent = await _upstream.SendAsync(upstreamRequest, model.Upstream.Name, alias, deadline).ConfigureAwait(false);
        if (sent.Sent)
        {
            call.MarkSent();
        }

        if (sent.Response is not { } upstreamResponse)
        {
            await FailUpstreamAsync(context, call, sent.Failure, callerFormat, Metering.Unknown(call)).ConfigureAwait(false);
            return;
        }

        using (upstreamResponse)
        {
            // 9. Relay: an upstream error, a whole response, or a stream frame by frame.
            if (!upstreamResponse.IsSuccessStatusCode)
            {
                await RelayUpstreamErrorAsync(context, call, upstreamResponse, callerFormat, upstreamFormat, deadline.Token).ConfigureAwait(false);
            }
            else if (stream)
            {
                await RelayStreamAsync(context, call, upstreamResponse, callerFormat, upstreamFormat, callerWantsUsage, price, deadline).ConfigureAwait(false);
            }
            else
            {
                await RelayWholeAsync(context, call, upstreamResponse, callerFormat, upstreamFormat, price, deadline).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Checks the fields the gateway itself relies on; the provider validates the rest.</summary>
    internal static GatewayError? ValidateShape(JsonObject request, ApiFormat format, out string alias, out bool stream, out int? maxTokens)
    {
        alias = "";
        stream = false;
        maxTokens = null;
        if (!request.TryGetPropertyValue("model", out var modelNode) || modelNode is not JsonValue modelValue
            || !modelValue.TryGetValue<string>(out var modelName) || modelName.Length == 0)
        {
            return new GatewayError(GatewayErrorCode.InvalidRequest, "'model' is required and must be a non-empty string.", "model");
        }

        alias = modelName;
        if (!request.TryGetPropertyValue("messages", out var messages) || messages is not JsonArray)
        {
            return new GatewayError(GatewayErrorCode.InvalidRequest, "'messages' is required and must be an array.", "messages");
        }

        if (request.TryGetPropertyValue("stream", out var streamNode) && streamNode is not null)
        {
            if (streamNode.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
            {
                return new GatewayError(GatewayErrorCode.InvalidRequest, "'stream' must be a boolean.", "stream");
            }

            stream = streamNode.GetValue<bool>();
        }

        foreach (var field in format == ApiFormat.OpenAI ? OpenAiMaxTokenFields : AnthropicMaxTokenFields)
        {
            if (!request.TryGetPropertyValue(field, out var node) || node is null)
            {
                continue;
            }

            if (node is not JsonValue value || !value.TryGetValue<int>(out var parsed) || parsed < 1)
            {
                return new GatewayError(GatewayErrorCode.InvalidRequest, $"'{field}' must be a positive integer.", field);
            }

            if (maxTokens is { } earlier && earlier != parsed)
            {
                // Which one the upstream applies differs by provider and API version: never hold one and send the other.
                return new GatewayError(GatewayErrorCode.InvalidRequest, $"'max_tokens' and '{field}' disagree ({earlier} and {parsed}); send one of them.", field);
            }

            maxTokens = parsed;
        }

        return null;
    }

    private static readonly string[] OpenAiMaxTokenFields = ["max_tokens", "max_completion_tokens"];
    private static readonly string[] AnthropicMaxTokenFields = ["max_tokens"];

    /// <remarks><paramref name="calledAs"/> is the alias the caller named when it differs (a route served by <paramref name="alias"/>): the key must allow that one.</remarks>
    internal static GatewayError? ResolveModel(GatewayState state, Keys.VirtualKey key, string alias, ModelKind kind, out ResolvedModel model, out ModelPrice price, string? calledAs = null)
    {
        price = ModelPrice.Free;
        if (!state.Models.TryGetValue(alias, out model!))
        {
            return new GatewayError(GatewayErrorCode.ModelNotFound, $"The model '{alias}' does not exist on this gateway.", "model");
        }

        if (!key.Allows(calledAs ?? alias))
        {
            return new GatewayError(GatewayErrorCode.ModelNotAllowed, $"The key '{key.Id}' may not use the model '{calledAs ?? alias}'.", "model");
        }

        if (model.Model.Kind != kind)
        {
            return new GatewayError(GatewayErrorCode.WrongModelKind, $"The model '{alias}' is a {model.Model.Kind.ToString().ToLowerInvariant()} model and cannot serve this endpoint.", "model");
        }

        if (model.Model.Price is { } known)
        {
            price = known;
        }
        else if (!model.Model.Free)
        {
            // Fail closed: a request whose cost cannot be computed could spend without limit.
            return new GatewayError(GatewayErrorCode.ModelNotPriced, $"The model '{alias}' has no price configured, so the gateway cannot account for it. Add a price, or mark it free: true.", "model");
        }

        return null;
    }

    /// <summary>The parsed body of a request the scan admitted, for the paths that work on JSON objects (translation, ensembles).</summary>
    private static JsonObject Materialize(PooledBufferWriter raw) => RequestBody.Parse(raw.WrittenSpan).Json!;

    private static bool WantsStreamUsage(JsonObject request) =>
        request["stream_options"] is JsonObject options
        && options["include_usage"] is JsonValue include
        && include.TryGetValue<bool>(out var wants) && wants;

    private static GatewayError? BuildUpstreamBody(JsonObject request, ApiFormat callerFormat, ApiFormat upstreamFormat, ResolvedModel model, int maxTokens, bool setMaxTokens, bool stream, out JsonObject upstream)
    {
        var upstreamModel = model.Model.UpstreamModel;
        if (callerFormat == upstreamFormat)
        {
            upstream = request;
            upstream["model"] = upstreamModel;
            if (setMaxTokens && (upstreamFormat == ApiFormat.Anthropic || !upstream.ContainsKey(TokenLimitFields.MaxCompletionTokens)))
            {
                upstream["max_tokens"] = maxTokens;
            }

            if (stream && upstreamFormat == ApiFormat.OpenAI)
            {
                // The final chunk then carries usage, so a stream is settled from what the provider reports.
                var options = upstream["stream_options"] as JsonObject ?? [];
                options["include_usage"] = true;
                upstream["stream_options"] = options;
            }

            return null;
        }

        if (callerFormat == ApiFormat.OpenAI)
        {
            if (!OpenAiToAnthropic.TryTranslateRequest(request, upstreamModel, maxTokens, out upstream, out var error))
            {
                return new GatewayError(GatewayErrorCode.InvalidRequest, error.Message, error.Param);
            }

            return null;
        }

        if (!AnthropicToOpenAi.TryTranslateRequest(request, upstreamModel, out upstream, out var reverseError))
        {
            return new GatewayError(GatewayErrorCode.InvalidRequest, reverseError.Message, reverseError.Param);
        }

        return null;
    }

    private async Task RelayUpstreamErrorAsync(HttpContext context, CallRecord call, HttpResponseMessage upstream, ApiFormat callerFormat, ApiFormat upstreamFormat, CancellationToken ct)
    {
        var status = (int)upstream.StatusCode;
        Log.UpstreamFailed(_logger, call.Provider, call.ModelAlias, status.ToString(CultureInfo.InvariantCulture));
        if (upstream.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            // The provider refused the gateway's own credentials: that is not the caller's key, and its message is not theirs to see.
            await FailAsync(context, call, new GatewayError(GatewayErrorCode.UpstreamAuthFailed, $"The provider '{call.Provider}' refused the gateway's credentials."), callerFormat).ConfigureAwait(false);
            return;
        }

        byte[] body;
        try
        {
            body = await UpstreamBody.ReadBoundedAsync(upstream.Content, 1024 * 1024, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (UpstreamClient.IsReadFailure(ex))
        {
            body = [];
        }

        if (callerFormat != upstreamFormat || body.Length == 0 || !LooksLikeJson(body))
        {
            var translated = callerFormat == ApiFormat.Anthropic
                ? ErrorTranslation.OpenAiErrorToAnthropic(status, body)
                : ErrorTranslation.AnthropicErrorToOpenAi(status, body);
            body = JsonSerializer.SerializeToUtf8Bytes(translated, GatewayJsonContext.Default.JsonObject);
        }

        // A provider bills no refused request: an upstream error status is charged nothing.
        var standing = await _usage.FinishAsync(call, status, "upstream_" + status.ToString(CultureInfo.InvariantCulture), Metering.Nothing).ConfigureAwait(false);
        if (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        if (upstream.Headers.RetryAfter is { Delta: { } delta })
        {
            response.Headers.RetryAfter = ((int)Math.Ceiling(delta.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        response.ContentLength = body.Length;
        BudgetHeaders.Apply(response, standing);
        await response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task RelayWholeAsync(HttpContext context, CallRecord call, HttpResponseMessage upstream, ApiFormat callerFormat, ApiFormat upstreamFormat, ModelPrice price, UpstreamDeadline deadline)
    {
        // Read to the end within the upstream timeout, even if the caller has gone: the answer says what is billed.
        byte[] body;
        try
        {
            body = await UpstreamBody.ReadBoundedAsync(upstream.Content, MaxUpstreamBodyBytes, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (UpstreamClient.IsReadFailure(ex))
        {
            await FailUpstreamAsync(context, call, UpstreamClient.ClassifyRead(ex, deadline), callerFormat, Metering.Unknown(call)).ConfigureAwait(false);
            return;
        }

        var usageFound = upstreamFormat == ApiFormat.Anthropic
            ? UsageReader.TryReadAnthropic(body, out var usage)
            : UsageReader.TryReadOpenAi(body, out usage);
        if (!usageFound)
        {
            // A 200 whose body cannot be read: the provider may well have billed it, and nothing says how much.
            await FailUpstreamAsync(context, call, UpstreamFailure.InvalidResponse, callerFormat, Metering.Unknown(call)).ConfigureAwait(false);
            return;
        }

        var charge = Metering.Reported(call, usage, price);
        if (charge.Implausible)
        {
            Log.ImplausibleUsage(_logger, call.RequestId, call.Provider);
            await FailUpstreamAsync(context, call, UpstreamFailure.InvalidResponse, callerFormat, charge).ConfigureAwait(false);
            return;
        }

        if (callerFormat != upstreamFormat)
        {
            var parsed = ParseObject(body);
            if (parsed is null)
            {
                await FailUpstreamAsync(context, call, UpstreamFailure.InvalidResponse, callerFormat, charge).ConfigureAwait(false);
                return;
            }

            var translated = callerFormat == ApiFormat.OpenAI
                ? OpenAiToAnthropic.TranslateResponse(parsed, call.ModelAlias, _time.GetUtcNow().ToUnixTimeSeconds())
                : AnthropicToOpenAi.TranslateResponse(parsed, call.ModelAlias);
            body = JsonSerializer.SerializeToUtf8Bytes(translated, GatewayJsonContext.Default.JsonObject);
        }

        var gone = context.RequestAborted.IsCancellationRequested;
        var standing = await _usage.FinishAsync(call, gone ? 499 : 200, gone ? "client_closed" : null, charge).ConfigureAwait(false);
        if (gone)
        {
            return;
        }

        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "application/json";
        response.Headers["x-request-cost"] = charge.Cost.ToString();
        response.ContentLength = body.Length;
        BudgetHeaders.Apply(response, standing);
        await response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task RelayStreamAsync(HttpContext context, CallRecord call, HttpResponseMessage upstream, ApiFormat callerFormat, ApiFormat upstreamFormat, bool callerWantsUsage, ModelPrice price, UpstreamDeadline deadline)
    {
        if (!IsEventStream(upstream))
        {
            // A stream was asked for and something else came back: nothing can be relayed as a stream. What it says
            // it used is charged when it says so; otherwise the hold.
            await RefuseNonStreamAsync(context, call, upstream, callerFormat, upstreamFormat, price, deadline).ConfigureAwait(false);
            return;
        }

        if (call.Admission is { } admission)
        {
            BudgetHeaders.Apply(context.Response, admission.WhileRunning);
        }

        var relay = ChatStreamRelay.For(callerFormat, upstreamFormat, call.RequestId, call.ModelAlias, _time.GetUtcNow().ToUnixTimeSeconds(), callerWantsUsage,
            callerWantsUsage ? usage => Metering.Reported(call, usage, price).Cost : null);
        var end = await StreamPump.PumpAsync(context, upstream, relay, callerFormat, deadline.Token).ConfigureAwait(false);
        if (end.Malformed || !end.Ended)
        {
            Log.MalformedStream(_logger, call.RequestId, call.Provider);
        }

        // Settle: what the provider reported (clamped to the hold), else what was counted — never $0 for a stream
        // that reached the provider.
        var status = end.ClientGone ? 499 : 200;
        if (relay.ReportedUsage is { } reported)
        {
            var charge = Metering.Reported(call, reported, price);
            if (charge.Implausible)
            {
                Log.ImplausibleUsage(_logger, call.RequestId, call.Provider);
            }

            await _usage.FinishAsync(call, status, charge.Implausible && !end.ClientGone ? "upstream_invalid_response" : end.ErrorCode, charge).ConfigureAwait(false);
            return;
        }

        var counted = Metering.Unknown(call, relay.CountedOutputTokens, relay.ReportedInput);
        Log.StreamSettledFromCount(_logger, call.RequestId, call.Provider, counted.Usage.OutputTokens);
        await _usage.FinishAsync(call, status, end.ErrorCode ?? "upstream_stream_cut", counted).ConfigureAwait(false);
    }

    /// <summary>A stream request answered 2xx with something other than an event stream.</summary>
    private async Task RefuseNonStreamAsync(HttpContext context, CallRecord call, HttpResponseMessage upstream, ApiFormat callerFormat, ApiFormat upstreamFormat, ModelPrice price, UpstreamDeadline deadline)
    {
        var charge = Metering.Unknown(call);
        try
        {
            var body = await UpstreamBody.ReadBoundedAsync(upstream.Content, MaxUpstreamBodyBytes, deadline.Token).ConfigureAwait(false);
            var found = upstreamFormat == ApiFormat.Anthropic ? UsageReader.TryReadAnthropic(body, out var usage) : UsageReader.TryReadOpenAi(body, out usage);
            if (found)
            {
                charge = Metering.Reported(call, usage, price);
            }
        }
        catch (Exception ex) when (UpstreamClient.IsReadFailure(ex))
        {
            // Nothing more to learn: the hold.
        }

        await FailUpstreamAsync(context, call, UpstreamFailure.InvalidResponse, callerFormat, charge).ConfigureAwait(false);
    }

    private static bool IsEventStream(HttpResponseMessage upstream) =>
        upstream.Content.Headers.ContentType?.MediaType is { } media && media.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase);

    private static JsonObject? ParseObject(byte[] body)
    {
        try
        {
            return JsonNode.Parse(body) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Refuses a request before anything reached a provider, or after the provider refused it (which it does not
    /// bill): nothing is charged, the hold is released.
    /// </summary>
    private async Task FailAsync(HttpContext context, CallRecord call, GatewayError error, ApiFormat format)
    {
        var standing = await _usage.FinishAsync(call, ErrorTable.StatusOf(error), ErrorTable.CodeOf(error), Metering.Nothing).ConfigureAwait(false);
        BudgetHeaders.Apply(context.Response, standing);
        await ErrorWriter.WriteAsync(context, error, format).ConfigureAwait(false);
    }

    /// <summary>An upstream call that failed after it may have reached the provider: charged <paramref name="charge"/>.</summary>
    private async Task FailUpstreamAsync(HttpContext context, CallRecord call, UpstreamFailure failure, ApiFormat format, Metering.Charge charge)
    {
        var error = UpstreamErrors.For(failure, call.Provider, call.ModelAlias, _config.Current.Config.Server.UpstreamTimeoutSeconds);
        var gone = failure == UpstreamFailure.CallerGone || context.RequestAborted.IsCancellationRequested;
        var standing = await _usage.FinishAsync(call, gone ? 499 : ErrorTable.StatusOf(error), gone ? "client_closed" : ErrorTable.CodeOf(error), charge).ConfigureAwait(false);
        if (gone)
        {
            return;
        }

        if (charge.Source != UsageSource.None)
        {
            context.Response.Headers["x-request-cost"] = charge.Cost.ToString();
        }

        BudgetHeaders.Apply(context.Response, standing);
        await ErrorWriter.WriteAsync(context, error, format).ConfigureAwait(false);
    }

    /// <summary>A hold outlives the longest upstream call, so only a request that truly never settles is expired.</summary>
    private static TimeSpan HoldTtl(GatewayState state) => TimeSpan.FromSeconds(state.Config.Server.UpstreamTimeoutSeconds + 60);

    private static bool LooksLikeJson(byte[] body)
    {
        var reader = new Utf8JsonReader(body);
        try
        {
            return reader.Read() && reader.TokenType == JsonTokenType.StartObject && reader.TrySkip();
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
