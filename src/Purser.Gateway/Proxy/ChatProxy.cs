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
using Purser.Pricing;
using Purser.Providers.Streaming;
using Purser.Providers.Translation;
using Purser.Providers.Usage;
using Purser.Usage;

namespace Purser.Gateway.Proxy;

/// <summary>
/// The request path for chat: OpenAI <c>/v1/chat/completions</c> and Anthropic <c>/v1/messages</c>, against an
/// upstream of either kind. Steps are numbered; every expected failure is a <see cref="GatewayError"/> value that the
/// one <see cref="ErrorTable"/> turns into a status.
/// </summary>
internal sealed class ChatProxy
{
    private const int MaxUpstreamBodyBytes = 64 * 1024 * 1024;

    private readonly ConfigMonitor _config;
    private readonly HttpClient _http;
    private readonly UsageRecorder _usage;
    private readonly BudgetAdmission _budgets;
    private readonly BudgetEvents _events;
    private readonly Ensembles.EnsembleExecutor _ensembles;
    private readonly BedtimeGuard _bedtime;
    private readonly TimeProvider _time;
    private readonly ILogger<ChatProxy> _logger;

    public ChatProxy(ConfigMonitor config, HttpClient http, UsageRecorder usage, BudgetAdmission budgets, BudgetEvents events, Ensembles.EnsembleExecutor ensembles, BedtimeGuard bedtime, TimeProvider time, ILogger<ChatProxy> logger)
    {
        _ensembles = ensembles;
        _bedtime = bedtime;
        _config = config;
        _http = http;
        _usage = usage;
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
        var ct = context.RequestAborted;

        // 1. Who is calling.
        var authError = CallerAuthenticator.Authenticate(context.Request, state, _time, out var key);
        if (authError is { } unauthenticated)
        {
            await ErrorWriter.WriteAsync(context, unauthenticated, callerFormat).ConfigureAwait(false);
            return;
        }

        var call = new CallRecord(requestId, key!.Id, callerFormat == ApiFormat.Anthropic ? "messages" : "chat", started);

        // 2. What they sent, within the size limit.
        var (raw, bodyError) = await RequestBody.ReadRawAsync(context.Request, state.Config.Server.MaxBodyBytes, ct).ConfigureAwait(false);
        if (bodyError is { } badBody)
        {
            await FailAsync(context, call, badBody, callerFormat).ConfigureAwait(false);
            return;
        }

        using var rawBody = raw!;
        var bodyBytes = rawBody.WrittenCount;

        // 3. Which model, and may this key use it at a known price. A plain request is only scanned (see
        // ChatRequestScan); any other is parsed, and validated field by field.
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
            (request, var parseError) = RequestBody.Parse(rawBody.WrittenSpan);
            if (parseError is { } badJson)
            {
                await FailAsync(context, call, badJson, callerFormat).ConfigureAwait(false);
                return;
            }

            if (ValidateShape(request!, callerFormat, out alias, out stream, out callerMaxTokens) is { } badShape)
            {
                await FailAsync(context, call, badShape, callerFormat).ConfigureAwait(false);
                return;
            }
        }

        call.ModelAlias = alias;
        call.Streamed = stream;

        // 4a. Bedtime Mode, before anything is planned: a tripped key or team is refused, or served by its policy's
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

        // 4. Budgets: hold the worst case on every budget of the path, degrading the request if a budget allows it.
        var headerError = BudgetRequestHeaders.Parse(context.Request.Headers, out var budgetHeaders);
        if (headerError is { } badHeader)
        {
            await FailAsync(context, call, badHeader, callerFormat).ConfigureAwait(false);
            return;
        }

        call.TaskScope = budgetHeaders.TaskId;
        var (path, pathError) = await _budgets.PathAsync(state, key, budgetHeaders, ct).ConfigureAwait(false);
        if (pathError is { } badPath)
        {
            await FailAsync(context, call, badPath, callerFormat).ConfigureAwait(false);
            return;
        }

        var inputBound = scan is null ? InputTokenBound.Of(request!, bodyBytes) : InputTokenBound.Of(scan.Images, bodyBytes);
        var (admission, refusal) = await _budgets.AdmitAsync(
            new AdmissionRequest(requestId, state, path, budgetHeaders.Hint, model, price, inputBound, maxTokens, HoldTtl(state)),
            ct).ConfigureAwait(false);
        if (refusal is { } refused)
        {
            _events.Blocked(call, refused);
            await FailAsync(context, call, refused, callerFormat).ConfigureAwait(false);
            return;
        }

        call.Admission = admission;
        call.InputTokenBound = inputBound;
        if (admission!.Degraded is { } degraded)
        {
            context.Response.Headers["x-budget-degraded"] = degraded;
            if (!string.Equals(degraded, FailOpenAllowance.Marker, StringComparison.Ordinal))
            {
                _events.Degraded(call, degraded);
            }

            model = admission.Model;
            price = admission.Price;
            if (admission.MaxTokens != maxTokens)
            {
                callerMaxTokens = null;
            }

            maxTokens = admission.MaxTokens;
        }

        call.Provider = model.Upstream.Name;
        call.UpstreamModel = model.Model.UpstreamModel;

        // 5. The upstream request, translated when the caller and the provider speak different formats.
        var upstreamFormat = model.Upstream.Kind == ProviderKind.Anthropic ? ApiFormat.Anthropic : ApiFormat.OpenAI;
        using var upstreamBuffer = new PooledBufferWriter(bodyBytes + 256);
        var uri = upstreamFormat == ApiFormat.Anthropic ? model.Upstream.MessagesUri : model.Upstream.ChatCompletionsUri;
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

            if (model.Upstream.UsesMaxCompletionTokens && upstreamBody.Remove("max_tokens", out var limit))
            {
                upstreamBody["max_completion_tokens"] = limit;
            }

            upstreamRequest = UpstreamRequest.Create(model.Upstream, uri, upstreamBody, upstreamBuffer, context.Request);
        }

        using var sentRequest = upstreamRequest;

        // 6. The upstream call, bounded by the configured timeout and by the caller staying connected.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(state.Config.Server.UpstreamTimeoutSeconds));
        HttpResponseMessage upstreamResponse;

        // Telemetry (issue 17): the upstream call's span, current until the request settles; null without a tracer.
        using var upstreamSpan = Telemetry.GatewayTracing.StartUpstream(call);
        try
        {
            upstreamResponse = await _http.SendAsync(upstreamRequest, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await FinishAsync(call, 499, "client_closed", default, UsageSource.None, price).ConfigureAwait(false);
            return;
        }
        catch (OperationCanceledException)
        {
            Log.UpstreamFailed(_logger, model.Upstream.Name, alias, "timeout");
            await FailAsync(context, call, new GatewayError(GatewayErrorCode.UpstreamTimeout, $"The provider did not answer within {state.Config.Server.UpstreamTimeoutSeconds} s."), callerFormat).ConfigureAwait(false);
            return;
        }
        catch (HttpRequestException ex)
        {
            Log.UpstreamFailed(_logger, model.Upstream.Name, alias, ex.HttpRequestError.ToString());
            await FailAsync(context, call, new GatewayError(GatewayErrorCode.UpstreamUnreachable, $"The provider '{model.Upstream.Name}' could not be reached."), callerFormat).ConfigureAwait(false);
            return;
        }

        using (upstreamResponse)
        {
            // 7. Relay: an upstream error, a whole response, or a stream frame by frame.
            if (!upstreamResponse.IsSuccessStatusCode)
            {
                await RelayUpstreamErrorAsync(context, call, upstreamResponse, callerFormat, upstreamFormat, timeout.Token).ConfigureAwait(false);
                return;
            }

            if (stream)
            {
                await RelayStreamAsync(context, call, upstreamResponse, callerFormat, upstreamFormat, callerWantsUsage, price, timeout.Token).ConfigureAwait(false);
            }
            else
            {
                await RelayWholeAsync(context, call, upstreamResponse, callerFormat, upstreamFormat, price, timeout.Token).ConfigureAwait(false);
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

            maxTokens = parsed;
        }

        return null;
    }

    private static readonly string[] OpenAiMaxTokenFields = ["max_tokens", "max_completion_tokens"];
    private static readonly string[] AnthropicMaxTokenFields = ["max_tokens"];

    internal static GatewayError? ResolveModel(GatewayState state, Keys.VirtualKey key, string alias, ModelKind kind, out ResolvedModel model, out ModelPrice price)
    {
        price = ModelPrice.Free;
        if (!state.Models.TryGetValue(alias, out model!))
        {
            return new GatewayError(GatewayErrorCode.ModelNotFound, $"The model '{alias}' does not exist on this gateway.", "model");
        }

        if (!key.Allows(alias))
        {
            return new GatewayError(GatewayErrorCode.ModelNotAllowed, $"The key '{key.Id}' may not use the model '{alias}'.", "model");
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
            if (setMaxTokens)
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

        if (setMaxTokens)
        {
            upstream["max_tokens"] = maxTokens;
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
            body = await ReadBoundedAsync(upstream.Content, 1024 * 1024, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException or InvalidDataException)
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

        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        if (upstream.Headers.RetryAfter is { Delta: { } delta })
        {
            response.Headers.RetryAfter = ((int)Math.Ceiling(delta.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        response.ContentLength = body.Length;
        var standing = await FinishAsync(call, status, "upstream_" + status.ToString(CultureInfo.InvariantCulture), default, UsageSource.None, ModelPrice.Free).ConfigureAwait(false);
        BudgetHeaders.Apply(response, standing);
        await response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task RelayWholeAsync(HttpContext context, CallRecord call, HttpResponseMessage upstream, ApiFormat callerFormat, ApiFormat upstreamFormat, ModelPrice price, CancellationToken ct)
    {
        byte[] body;
        try
        {
            body = await ReadBoundedAsync(upstream.Content, MaxUpstreamBodyBytes, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or InvalidDataException or OperationCanceledException)
        {
            if (context.RequestAborted.IsCancellationRequested)
            {
                await FinishAsync(call, 499, "client_closed", default, UsageSource.None, price).ConfigureAwait(false);
                return;
            }

            await FailAsync(context, call, new GatewayError(GatewayErrorCode.UpstreamInvalidResponse, $"The provider '{call.Provider}' broke off its response."), callerFormat).ConfigureAwait(false);
            return;
        }

        var usageFound = upstreamFormat == ApiFormat.Anthropic
            ? UsageReader.TryReadAnthropic(body, out var usage)
            : UsageReader.TryReadOpenAi(body, out usage);
        JsonObject? parsed = null;
        if (usageFound && callerFormat != upstreamFormat)
        {
            try
            {
                parsed = JsonNode.Parse(body) as JsonObject;
            }
            catch (JsonException)
            {
                parsed = null;
            }

            usageFound = parsed is not null;
        }

        if (!usageFound)
        {
            // A 200 whose body cannot be read is a provider fault; nothing the caller can use was delivered.
            await FailAsync(context, call, new GatewayError(GatewayErrorCode.UpstreamInvalidResponse, $"The provider '{call.Provider}' returned a response the gateway could not read."), callerFormat).ConfigureAwait(false);
            return;
        }

        if (parsed is not null)
        {
            var translated = callerFormat == ApiFormat.OpenAI
                ? OpenAiToAnthropic.TranslateResponse(parsed, call.ModelAlias, _time.GetUtcNow().ToUnixTimeSeconds())
                : AnthropicToOpenAi.TranslateResponse(parsed, call.ModelAlias);
            body = JsonSerializer.SerializeToUtf8Bytes(translated, GatewayJsonContext.Default.JsonObject);
        }

        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "application/json";
        response.Headers["x-request-cost"] = price.Cost(usage).ToString();
        response.ContentLength = body.Length;
        var standing = await FinishAsync(call, 200, null, usage, UsageSource.Reported, price).ConfigureAwait(false);
        BudgetHeaders.Apply(response, standing);
        await response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task RelayStreamAsync(HttpContext context, CallRecord call, HttpResponseMessage upstream, ApiFormat callerFormat, ApiFormat upstreamFormat, bool callerWantsUsage, ModelPrice price, CancellationToken ct)
    {
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        if (call.Admission is { } admission)
        {
            BudgetHeaders.Apply(response, admission.WhileRunning);
        }

        var writer = response.BodyWriter;

        OpenAiStreamObserver? openAi = null;
        AnthropicStreamObserver? anthropic = null;
        AnthropicToOpenAiStream? toOpenAi = null;
        OpenAiToAnthropicStream? toAnthropic = null;
        if (callerFormat == upstreamFormat)
        {
            if (upstreamFormat == ApiFormat.OpenAI)
            {
                openAi = new OpenAiStreamObserver();
            }
            else
            {
                anthropic = new AnthropicStreamObserver();
            }
        }
        else if (callerFormat == ApiFormat.OpenAI)
        {
            toOpenAi = new AnthropicToOpenAiStream("chatcmpl-" + call.RequestId, call.ModelAlias, _time.GetUtcNow().ToUnixTimeSeconds(), callerWantsUsage);
            anthropic = toOpenAi.Observer;
        }
        else
        {
            toAnthropic = new OpenAiToAnthropicStream("msg_" + call.RequestId, call.ModelAlias);
            openAi = toAnthropic.Observer;
        }

        var clientGone = false;
        var malformed = false;
        try
        {
            await response.StartAsync(ct).ConfigureAwait(false);
            var upstreamStream = await upstream.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            await using var reader = new SseReader(upstreamStream);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                var frame = reader.Current;
                if (toOpenAi is not null)
                {
                    toOpenAi.Translate(frame, writer);
                }
                else if (toAnthropic is not null)
                {
                    toAnthropic.Translate(frame.Data.Span, writer);
                }
                else if (openAi is not null)
                {
                    var kind = openAi.Observe(frame.Data.Span);
                    if (kind == OpenAiChunkKind.Malformed)
                    {
                        malformed = true;
                        break;
                    }

                    if (kind != OpenAiChunkKind.UsageOnly)
                    {
                        writer.Write(frame.Raw.Span);
                    }
                    else if (callerWantsUsage)
                    {
                        WriteUsageChunkWithCost(writer, frame.Data.Span, openAi.ReportedUsage is { } reportedUsage ? price.Cost(reportedUsage) : null);
                    }
                }
                else
                {
                    if (anthropic!.Observe(frame.EventName.Span, frame.Data.Span) == AnthropicEventKind.Malformed)
                    {
                        malformed = true;
                        break;
                    }

                    writer.Write(frame.Raw.Span);
                }

                var flushed = await writer.FlushAsync(ct).ConfigureAwait(false);
                if (flushed.IsCanceled || flushed.IsCompleted)
                {
                    clientGone = true;
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            clientGone = true;
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException or InvalidDataException)
        {
            // The upstream cut the stream, timed out, or sent an unframeable stream: settle from what was counted.
            Log.UpstreamFailed(_logger, call.Provider, call.ModelAlias, ex.GetType().Name);
            malformed = ex is InvalidDataException;
        }

        if (!clientGone)
        {
            try
            {
                if (malformed)
                {
                    Log.MalformedStream(_logger, call.RequestId, call.Provider);
                    WriteStreamError(writer, callerFormat);
                }
                else
                {
                    toOpenAi?.Complete(writer);
                    toAnthropic?.Complete(writer);
                }

                await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException)
            {
                clientGone = true;
            }
        }

        // 7. Settle: what the provider reported, else what was counted — never $0 for a stream that produced tokens.
        var reported = openAi?.ReportedUsage ?? anthropic?.ReportedUsage;
        if (reported is { } usage)
        {
            await FinishAsync(call, clientGone ? 499 : 200, clientGone ? "client_closed" : (malformed ? "upstream_malformed_stream" : null), usage, UsageSource.Reported, price).ConfigureAwait(false);
            return;
        }

        var counted = new TokenUsage(
            anthropic?.ReportedInputTokens ?? call.InputTokenBound,
            openAi?.CountedOutputTokens ?? anthropic!.CountedOutputTokens);
        Log.StreamSettledFromCount(_logger, call.RequestId, call.Provider, counted.OutputTokens);
        await FinishAsync(call, clientGone ? 499 : 200, clientGone ? "client_closed" : (malformed ? "upstream_malformed_stream" : "upstream_stream_cut"), counted, UsageSource.Counted, price).ConfigureAwait(false);
    }

    /// <summary>
    /// The final usage chunk, as the provider sent it plus <c>usage.cost</c> in USD: the one place a streaming caller
    /// learns what the request cost, since its headers left before the cost was known.
    /// </summary>
    private static void WriteUsageChunkWithCost(System.IO.Pipelines.PipeWriter writer, ReadOnlySpan<byte> data, Money? cost)
    {
        if (cost is not { } known || JsonNode.Parse(data) is not JsonObject chunk || chunk["usage"] is not JsonObject usage)
        {
            SseWriter.WriteData(writer, data);
            return;
        }

        usage["cost"] = known.ToUsd();
        SseWriter.WriteData(writer, JsonSerializer.SerializeToUtf8Bytes(chunk, GatewayJsonContext.Default.JsonObject));
    }

    private static void WriteStreamError(System.IO.Pipelines.PipeWriter writer, ApiFormat callerFormat)
    {
        if (callerFormat == ApiFormat.Anthropic)
        {
            SseWriter.WriteEvent(writer, "error"u8, """{"type":"error","error":{"type":"api_error","message":"The provider sent a malformed stream; the gateway ended it."}}"""u8);
        }
        else
        {
            SseWriter.WriteData(writer, """{"error":{"message":"The provider sent a malformed stream; the gateway ended it.","type":"server_error","param":null,"code":"upstream_invalid_response"}}"""u8);
        }
    }

    private async Task FailAsync(HttpContext context, CallRecord call, GatewayError error, ApiFormat format)
    {
        var standing = await FinishAsync(call, ErrorTable.StatusOf(error), ErrorTable.CodeOf(error), default, UsageSource.None, ModelPrice.Free).ConfigureAwait(false);
        BudgetHeaders.Apply(context.Response, standing);
        await ErrorWriter.WriteAsync(context, error, format).ConfigureAwait(false);
    }

    /// <summary>Settles the request's hold to its actual cost and leaves its usage record: the last step of every path.</summary>
    private ValueTask<BudgetStanding> FinishAsync(CallRecord call, int status, string? errorCode, TokenUsage usage, UsageSource source, ModelPrice price) =>
        _usage.FinishAsync(call, status, errorCode, usage, source, price);

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

    internal static async Task<byte[]> ReadBoundedAsync(HttpContent content, int limit, CancellationToken ct)
    {
        if (content.Headers.ContentLength is { } length && length > limit)
        {
            throw new InvalidDataException("The upstream body is larger than the gateway accepts.");
        }

        var stream = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new PooledBufferWriter(content.Headers.ContentLength is > 0 and <= 1 << 20 ? (int)content.Headers.ContentLength.Value : 16 * 1024);
            while (true)
            {
                var read = await stream.ReadAsync(buffer.GetMemory(8192), ct).ConfigureAwait(false);
                if (read == 0)
                {
                    return buffer.WrittenSpan.ToArray();
                }

                buffer.Advance(read);
                if (buffer.WrittenCount > limit)
                {
                    throw new InvalidDataException("The upstream body is larger than the gateway accepts.");
                }
            }
        }
    }
}
