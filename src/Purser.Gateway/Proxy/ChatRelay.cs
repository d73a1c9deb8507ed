using System.Globalization;
using System.Net;
using System.Text.Json;
using Purser.Gateway.Budgets;
using Purser.Gateway.Errors;
using Purser.Gateway.Logging;
using Purser.Gateway.Pipeline;
using Purser.Gateway.Relay;
using Purser.Gateway.Upstream;
using Purser.Gateway.Wire;
using Purser.Pricing;
using Purser.Providers.Translation;
using Purser.Providers.Usage;

namespace Purser.Gateway.Proxy;

/// <summary>
/// Step 9 of the chat path (<see cref="ChatProxy"/>): what the provider answered, relayed to the caller and settled.
/// <code>
///  upstream error ─► relayed in the caller's shape (translated when the formats differ), charged nothing
///  whole response ─► read to its end within the timeout ─► usage read (none: the hold) ─► translated ─► settled
///  stream         ─► frame by frame (ChatStreamRelay) ─► settled from the reported usage, else the counted tokens
///                 └► not an event stream: refused, charged what it says it used, else the hold
/// </code>
/// </summary>
internal sealed class ChatRelay
{
    private const int MaxUpstreamBodyBytes = 64 * 1024 * 1024;

    private readonly CallOpening _opening;
    private readonly UsageRecorder _usage;
    private readonly TimeProvider _time;
    private readonly ILogger<ChatRelay> _logger;

    public ChatRelay(CallOpening opening, UsageRecorder usage, TimeProvider time, ILogger<ChatRelay> logger)
    {
        _opening = opening;
        _usage = usage;
        _time = time;
        _logger = logger;
    }

    public async Task RelayUpstreamErrorAsync(OpenedCall opened, HttpResponseMessage upstream, ApiFormat upstreamFormat, CancellationToken ct)
    {
        var (context, call, callerFormat) = (opened.Context, opened.Call, opened.Format);
        var status = (int)upstream.StatusCode;
        Log.UpstreamFailed(_logger, call.Provider, call.ModelAlias, status.ToString(CultureInfo.InvariantCulture));
        if (upstream.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            // The provider refused the gateway's own credentials: that is not the caller's key, and its message is not theirs to see.
            await _opening.FailAsync(opened, new GatewayError(GatewayErrorCode.UpstreamAuthFailed, $"The provider '{call.Provider}' refused the gateway's credentials.")).ConfigureAwait(false);
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

        if (callerFormat != upstreamFormat || body.Length == 0 || !UpstreamBody.LooksLikeJsonObject(body))
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

    public async Task RelayWholeAsync(OpenedCall opened, HttpResponseMessage upstream, ApiFormat upstreamFormat, ModelPrice price, UpstreamDeadline deadline)
    {
        var (context, call, callerFormat) = (opened.Context, opened.Call, opened.Format);
        // Read to the end within the upstream timeout, even if the caller has gone: the answer says what is billed.
        byte[] body;
        try
        {
            body = await UpstreamBody.ReadBoundedAsync(upstream.Content, MaxUpstreamBodyBytes, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (UpstreamClient.IsReadFailure(ex))
        {
            await _opening.FailUpstreamAsync(opened, UpstreamClient.ClassifyRead(ex, deadline), Metering.Unknown(call)).ConfigureAwait(false);
            return;
        }

        var usageFound = upstreamFormat == ApiFormat.Anthropic
            ? UsageReader.TryReadAnthropic(body, out var usage)
            : UsageReader.TryReadOpenAi(body, out usage);
        if (!usageFound)
        {
            // A 200 whose body cannot be read: the provider may well have billed it, and nothing says how much.
            await _opening.FailUpstreamAsync(opened, UpstreamFailure.InvalidResponse, Metering.Unknown(call)).ConfigureAwait(false);
            return;
        }

        var charge = Metering.Reported(call, usage, price);
        if (charge.Implausible)
        {
            Log.ImplausibleUsage(_logger, call.RequestId, call.Provider);
            await _opening.FailUpstreamAsync(opened, UpstreamFailure.InvalidResponse, charge).ConfigureAwait(false);
            return;
        }

        if (callerFormat != upstreamFormat)
        {
            var parsed = UpstreamBody.ParseObject(body);
            if (parsed is null)
            {
                await _opening.FailUpstreamAsync(opened, UpstreamFailure.InvalidResponse, charge).ConfigureAwait(false);
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

    public async Task RelayStreamAsync(OpenedCall opened, HttpResponseMessage upstream, ApiFormat upstreamFormat, bool callerWantsUsage, ModelPrice price, UpstreamDeadline deadline)
    {
        var (context, call, callerFormat) = (opened.Context, opened.Call, opened.Format);
        if (!UpstreamBody.IsEventStream(upstream))
        {
            // A stream was asked for and something else came back: nothing can be relayed as a stream. What it says
            // it used is charged when it says so; otherwise the hold.
            await RefuseNonStreamAsync(opened, upstream, upstreamFormat, price, deadline).ConfigureAwait(false);
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
    private async Task RefuseNonStreamAsync(OpenedCall opened, HttpResponseMessage upstream, ApiFormat upstreamFormat, ModelPrice price, UpstreamDeadline deadline)
    {
        var (context, call, callerFormat) = (opened.Context, opened.Call, opened.Format);
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

        await _opening.FailUpstreamAsync(opened, UpstreamFailure.InvalidResponse, charge).ConfigureAwait(false);
    }
}
