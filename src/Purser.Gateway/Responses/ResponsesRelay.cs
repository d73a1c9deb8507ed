using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Logging;
using Purser.Gateway.Pipeline;
using Purser.Gateway.Relay;
using Purser.Gateway.Upstream;
using Purser.Gateway.Wire;
using Purser.Pricing;
using Purser.Providers.Streaming;
using Purser.Providers.Translation;
using Purser.Providers.Usage;
using Purser.Responses;
using Purser.Usage;

namespace Purser.Gateway.Responses;

/// <summary>
/// The relay step of one Responses API call: an upstream error (charged nothing), a whole response (settled from its
/// usage; a queued background response keeps its hold open for the retrieval that finds it finished), or a stream
/// (every event passed through as it arrives; settled from <c>response.completed</c>, else by the pipeline's rules for a
/// cut stream). A stored response's route is remembered before the caller can use its id (<see cref="ResponseRoutes"/>).
/// </summary>
internal sealed class ResponsesRelay
{
    private const int MaxUpstreamBodyBytes = 64 * 1024 * 1024;

    private readonly HttpContext _context;
    private readonly CallRecord _call;
    private readonly UsageRecorder _usage;
    private readonly ResponseRoutes _routes;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConfigMonitor _config;
    private Money _charged;

    /// <summary>The provider is Anthropic-format: its answers are translated to the Responses API.</summary>
    public bool Anthropic { get; init; }

    /// <summary>The provider is OpenAI-format without a Responses API: its Chat Completions answers are translated.</summary>
    public bool ChatOnly { get; init; }

    /// <summary>The output limit held and sent (echoed as <c>max_output_tokens</c> in a translated response).</summary>
    public int MaxOutputTokens { get; init; }

    /// <summary>
    /// What a route's earlier attempts were charged (they reached the provider and failed before any byte reached the
    /// caller): added to this call's charge, the total never above the hold.
    /// </summary>
    public (Money Cost, TokenUsage Usage) Earlier { get; init; }

    public ResponsesRelay(HttpContext context, CallRecord call, UsageRecorder usage, ResponseRoutes routes, ILogger logger, TimeProvider time, ConfigMonitor config)
    {
        _context = context;
        _call = call;
        _usage = usage;
        _routes = routes;
        _logger = logger;
        _time = time;
        _config = config;
    }

    /// <summary>The provider refused: its error, passed on in OpenAI's shape; a provider bills no refused request.</summary>
    public async Task UpstreamErrorAsync(HttpResponseMessage upstream, CancellationToken ct)
    {
        var status = (int)upstream.StatusCode;
        Log.UpstreamFailed(_logger, _call.Provider, _call.ModelAlias, status.ToString(CultureInfo.InvariantCulture));
        if (upstream.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            await FailAsync(new GatewayError(GatewayErrorCode.UpstreamAuthFailed, $"The provider '{_call.Provider}' refused the gateway's credentials."), Metering.Nothing).ConfigureAwait(false);
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

        if (Anthropic || body.Length == 0 || !LooksLikeJsonObject(body))
        {
            body = JsonSerializer.SerializeToUtf8Bytes(Providers.Translation.ErrorTranslation.AnthropicErrorToOpenAi(status, body), GatewayJsonContext.Default.JsonObject);
        }

        var standing = await FinishAsync(status, "upstream_" + status.ToString(CultureInfo.InvariantCulture), Metering.Nothing).ConfigureAwait(false);
        if (_context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        var response = _context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        if (upstream.Headers.RetryAfter is { Delta: { } delta })
        {
            response.Headers.RetryAfter = ((int)Math.Ceiling(delta.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        response.ContentLength = body.Length;
        BudgetHeaders.Apply(response, standing);
        await response.Body.WriteAsync(body, _context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>A whole response object, read to its end within the upstream timeout even if the caller left.</summary>
    public async Task WholeAsync(HttpResponseMessage upstream, ModelPrice price, ResponsesShape.Fields fields, UpstreamDeadline deadline)
    {
        byte[] body;
        try
        {
            body = await UpstreamBody.ReadBoundedAsync(upstream.Content, MaxUpstreamBodyBytes, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (UpstreamClient.IsReadFailure(ex))
        {
            await FailAsync(UpstreamErrors.For(UpstreamClient.ClassifyRead(ex, deadline), _call.Provider, _call.ModelAlias, TimeoutSeconds), Metering.Unknown(_call)).ConfigureAwait(false);
            return;
        }

        if (Anthropic || ChatOnly)
        {
            await TranslatedWholeAsync(body, price).ConfigureAwait(false);
            return;
        }

        var observer = new ResponsesStreamObserver();
        if (!observer.ObserveResponseObject(body) || observer.ResponseId is null)
        {
            await FailAsync(UpstreamErrors.For(UpstreamFailure.InvalidResponse, _call.Provider, _call.ModelAlias, TimeoutSeconds), Metering.Unknown(_call)).ConfigureAwait(false);
            return;
        }

        var pending = fields.Background && observer.ReportedUsage is null && observer.Status is "queued" or "in_progress";
        Metering.Charge charge;
        BudgetStanding standing;
        var gone = _context.RequestAborted.IsCancellationRequested;
        if (pending && _call.Admission is { } admission)
        {
            // Queued at the provider: nothing is known yet. The hold stays open (for BackgroundHoldTtl) and moves to the
            // response's route; this request is recorded at $0, and the retrieval that finds the response finished
            // settles the hold and records its cost.
            await _routes.RememberAsync(Route(observer.ResponseId, admission, null)).ConfigureAwait(false);
            _call.Admission = null;
            charge = Metering.Nothing;
            standing = admission.WhileRunning;
            await FinishAsync(gone ? 499 : 200, gone ? "client_closed" : "background_pending", charge).ConfigureAwait(false);
        }
        else
        {
            charge = observer.ReportedUsage is { } usage ? Metering.Reported(_call, usage, price) : Metering.Unknown(_call);
            if (charge.Source != UsageSource.Reported)
            {
                // A finished response without a readable usage: the provider billed it, and nothing says how much.
                Log.UpstreamFailed(_logger, _call.Provider, _call.ModelAlias, charge.Implausible ? "implausible_usage" : "no_usage");
                await FailAsync(UpstreamErrors.For(UpstreamFailure.InvalidResponse, _call.Provider, _call.ModelAlias, TimeoutSeconds), charge).ConfigureAwait(false);
                return;
            }

            standing = await FinishAsync(gone ? 499 : 200, gone ? "client_closed" : null, charge).ConfigureAwait(false);
            if (fields.Store)
            {
                // Remembered before the caller learns the id, so its next request (on any instance) finds it.
                await _routes.RememberAsync(Route(observer.ResponseId, null, charge.Usage)).ConfigureAwait(false);
            }
        }

        if (!gone)
        {
            var response = _context.Response;
            response.StatusCode = 200;
            response.ContentType = "application/json";
            response.Headers["x-request-cost"] = _charged.ToString();
            response.ContentLength = body.Length;
            BudgetHeaders.Apply(response, standing);
            await response.Body.WriteAsync(body, _context.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>A stream, event by event; settled from the terminal event's usage, else as a cut stream.</summary>
    public async Task StreamAsync(HttpResponseMessage upstream, ModelPrice price, bool store, CancellationToken ct)
    {
        if (_call.Admission is { } admission)
        {
            BudgetHeaders.Apply(_context.Response, admission.WhileRunning);
        }

        // A stored response's route is written as soon as its id is seen (response.created), while the stream runs,
        // so it is in the store by the time the caller can act on the finished response; awaited before the end.
        Task? remembered = null;
        IStreamRelay relay = Anthropic
            ? new AnthropicResponsesRelay(new AnthropicToResponsesStream("resp_" + _call.RequestId, _call.ModelAlias, _time.GetUtcNow().ToUnixTimeSeconds(), MaxOutputTokens))
            : ChatOnly
            ? new ChatResponsesRelay(new ChatToResponsesStream("resp_" + _call.RequestId, _call.ModelAlias, _time.GetUtcNow().ToUnixTimeSeconds(), MaxOutputTokens))
            : new ResponsesStreamRelay { OnResponseId = store ? id => remembered = _routes.RememberAsync(Route(id, null, null)) : null };
        var settled = Metering.Nothing;
        var end = await StreamPump.PumpAsync(_context, upstream, relay, ApiFormat.OpenAI, ct).ConfigureAwait(false);
        if (end.Malformed || !end.Ended)
        {
            Log.MalformedStream(_logger, _call.RequestId, _call.Provider);
        }

        var status = end.ClientGone ? 499 : 200;
        if (relay.ReportedUsage is { } reported)
        {
            var charge = Metering.Reported(_call, reported, price);
            if (charge.Implausible)
            {
                Log.ImplausibleUsage(_logger, _call.RequestId, _call.Provider);
            }

            await FinishAsync(status, charge.Implausible && !end.ClientGone ? "upstream_invalid_response" : end.ErrorCode, charge).ConfigureAwait(false);
            settled = charge;
        }
        else
        {
            var counted = Metering.Unknown(_call, relay.CountedOutputTokens, relay.ReportedInput);
            Log.StreamSettledFromCount(_logger, _call.RequestId, _call.Provider, counted.Usage.OutputTokens);
            await FinishAsync(status, end.ErrorCode ?? "upstream_stream_cut", counted).ConfigureAwait(false);
            settled = counted;
        }

        if (remembered is not null)
        {
            await remembered.ConfigureAwait(false);
            if (relay is ResponsesStreamRelay { Observer.ResponseId: { } id } && settled.Source == UsageSource.Reported)
            {
                // The conversation's size is known now: it bounds a continuation (previous_response_id).
                await _routes.RecordConversationAsync(Route(id, null, settled.Usage)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// An Anthropic Message (or a chat-only provider's chat.completion, first made a Message), priced from its usage
    /// and translated into a Responses API response object.
    /// </summary>
    private async Task TranslatedWholeAsync(byte[] body, ModelPrice price)
    {
        TokenUsage usage;
        var parsed = (ChatOnly ? UsageReader.TryReadOpenAi(body, out usage) : UsageReader.TryReadAnthropic(body, out usage)) ? ParseObject(body) : null;
        if (ChatOnly && parsed is not null)
        {
            parsed = AnthropicToOpenAi.TranslateResponse(parsed, _call.ModelAlias);
        }

        var charge = parsed is null ? Metering.Unknown(_call) : Metering.Reported(_call, usage, price);
        if (parsed is null || charge.Source != UsageSource.Reported)
        {
            Log.UpstreamFailed(_logger, _call.Provider, _call.ModelAlias, charge.Implausible ? "implausible_usage" : "no_usage");
            await FailAsync(UpstreamErrors.For(UpstreamFailure.InvalidResponse, _call.Provider, _call.ModelAlias, TimeoutSeconds), charge).ConfigureAwait(false);
            return;
        }

        var translated = AnthropicToResponses.TranslateResponse(parsed, usage, "resp_" + _call.RequestId, _call.ModelAlias, _time.GetUtcNow().ToUnixTimeSeconds(), MaxOutputTokens);
        body = JsonSerializer.SerializeToUtf8Bytes(translated, GatewayJsonContext.Default.JsonObject);
        var gone = _context.RequestAborted.IsCancellationRequested;
        var standing = await FinishAsync(gone ? 499 : 200, gone ? "client_closed" : null, charge).ConfigureAwait(false);
        if (gone)
        {
            return;
        }

        var response = _context.Response;
        response.StatusCode = 200;
        response.ContentType = "application/json";
        response.Headers["x-request-cost"] = _charged.ToString();
        response.ContentLength = body.Length;
        BudgetHeaders.Apply(response, standing);
        await response.Body.WriteAsync(body, _context.RequestAborted).ConfigureAwait(false);
    }

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

    private int TimeoutSeconds => _config.Current.Config.Server.UpstreamTimeoutSeconds;

    private ResponseRoute Route(string responseId, Admission? pending, TokenUsage? usage) => new(
        responseId, _call.KeyId, _call.Provider, _call.ModelAlias, _call.UpstreamModel, _time.GetUtcNow(),
        pending is null ? null : PendingHold.Encode(pending), pending?.Amount ?? Money.Zero, pending is null ? 0 : _call.InputTokenBound,
        usage is { } known ? known.InputTokens + known.OutputTokens : null);

    /// <summary>The upstream could not be reached, or failed before answering: its error, charged <paramref name="charge"/>.</summary>
    public Task FailUpstreamAsync(UpstreamFailure failure, Metering.Charge charge) =>
        FailAsync(UpstreamErrors.For(failure, _call.Provider, _call.ModelAlias, TimeoutSeconds), charge, failure == UpstreamFailure.CallerGone);

    /// <summary>The call's one usage record and settlement: <paramref name="charge"/> plus the route's earlier attempts.</summary>
    private ValueTask<BudgetStanding> FinishAsync(int status, string? errorCode, Metering.Charge charge)
    {
        if (Earlier.Cost == Money.Zero)
        {
            _charged = charge.Cost;
            return _usage.FinishAsync(_call, status, errorCode, charge);
        }

        var cost = charge.Cost + Earlier.Cost;
        if (_call.Admission is { } admission && cost > admission.Amount)
        {
            cost = admission.Amount;
        }

        _charged = cost;
        var source = charge.Source == UsageSource.None ? UsageSource.Held : charge.Source;
        return _usage.FinishAsync(_call, status, errorCode, charge with { Usage = charge.Usage + Earlier.Usage, Source = source, Cost = cost });
    }

    private async Task FailAsync(GatewayError error, Metering.Charge charge, bool callerGone = false)
    {
        var gone = callerGone || _context.RequestAborted.IsCancellationRequested;
        var standing = await FinishAsync(gone ? 499 : ErrorTable.StatusOf(error), gone ? "client_closed" : ErrorTable.CodeOf(error), charge).ConfigureAwait(false);
        if (gone)
        {
            return;
        }

        if (charge.Source != UsageSource.None || _charged != Money.Zero)
        {
            _context.Response.Headers["x-request-cost"] = _charged.ToString();
        }

        BudgetHeaders.Apply(_context.Response, standing);
        await ErrorWriter.WriteAsync(_context, error, ApiFormat.OpenAI).ConfigureAwait(false);
    }

    private static bool LooksLikeJsonObject(byte[] body)
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
