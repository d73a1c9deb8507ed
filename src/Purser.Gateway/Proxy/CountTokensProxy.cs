using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Configuration;
using Purser.Gateway.Auth;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Logging;
using Purser.Gateway.Pipeline;
using Purser.Gateway.Upstream;
using Purser.Gateway.Validation;
using Purser.Gateway.Wire;
using Purser.Providers.Translation;
using Purser.Tokenizers;

namespace Purser.Gateway.Proxy;

/// <summary>
/// Anthropic's <c>POST /v1/messages/count_tokens</c>, which coding agents call before every turn. Free wherever it is
/// answered, so nothing is held or charged; like every authenticated request it leaves one usage record (operation
/// <c>count_tokens</c>, $0, no tokens — nothing was consumed).
/// <code>
///  1 authenticate ─► 2 read + validate the body ─► 3 resolve the model (the key's allowed models; a route counts for
///    │ 401, no record   │ 4xx, $0                    │ 404 / 403, $0         its first target, an ensemble for its
///    ▼                                                                      first panel member)
///  4 Anthropic upstream: forwarded to its /messages/count_tokens, the answer or error relayed (free there)
///    OpenAI-format upstream: translated as the chat path would, counted with the model's tokeniser (ChatTokenCount)
/// </code>
/// </summary>
internal sealed class CountTokensProxy
{
    private const int MaxAnswerBytes = 1024 * 1024;

    private readonly CallOpening _opening;
    private readonly UpstreamClient _upstream;
    private readonly UsageRecorder _usage;
    private readonly ILogger<CountTokensProxy> _logger;

    public CountTokensProxy(CallOpening opening, UpstreamClient upstream, UsageRecorder usage, ILogger<CountTokensProxy> logger)
    {
        _opening = opening;
        _upstream = upstream;
        _usage = usage;
        _logger = logger;
    }

    public Task HandleAsync(HttpContext context) =>
        _opening.RunAsync(context, "count_tokens", ApiFormat.Anthropic, static (opened, proxy) => proxy.RunAsync(opened), this);

    private async Task RunAsync(OpenedCall opened)
    {
        var (context, call, key, state) = (opened.Context, opened.Call, opened.Key, opened.State);
        // 2. The body: within the size limit, well-formed, an object with a model and messages.
        var (body, bodyError) = await RequestBody.ReadAsync(context.Request, state.Config.Server.MaxBodyBytes, context.RequestAborted).ConfigureAwait(false);
        if (bodyError is { } badBody)
        {
            await _opening.FailAsync(opened, badBody).ConfigureAwait(false);
            return;
        }

        var request = body.Json;

        if (request["model"] is not JsonValue modelValue || !modelValue.TryGetValue<string>(out var alias) || alias.Length == 0)
        {
            await _opening.FailAsync(opened, new GatewayError(GatewayErrorCode.InvalidRequest, "model: a non-empty string is required.", "model")).ConfigureAwait(false);
            return;
        }

        call.ModelAlias = alias;
        if (request["messages"] is not JsonArray)
        {
            await _opening.FailAsync(opened, new GatewayError(GatewayErrorCode.InvalidRequest, "messages: an array of messages is required.", "messages")).ConfigureAwait(false);
            return;
        }

        if (ForwardedHeaders.Validate(context.Request.Headers) is { } badForwarded)
        {
            await _opening.FailAsync(opened, badForwarded).ConfigureAwait(false);
            return;
        }

        // 3. The model the count is for.
        if (Resolve(state, key, alias, out var model) is { } badModel)
        {
            await _opening.FailAsync(opened, badModel).ConfigureAwait(false);
            return;
        }

        call.Provider = model.Upstream.Name;
        call.UpstreamModel = model.Model.UpstreamModel;

        // 4. Counted where the model lives.
        if (model.Upstream.Kind == ProviderKind.Anthropic)
        {
            await ForwardAsync(opened, model, request).ConfigureAwait(false);
            return;
        }

        // The chat path's translation needs max_tokens, which a count request has no use for.
        request["max_tokens"] ??= 1;
        if (!AnthropicToOpenAi.TryTranslateRequest(request, model.Model.UpstreamModel, out var openAiRequest, out var translationError))
        {
            await _opening.FailAsync(opened, new GatewayError(GatewayErrorCode.InvalidRequest, translationError.Message, translationError.Param)).ConfigureAwait(false);
            return;
        }

        var tokens = ChatTokenCount.Count(openAiRequest, model.Model.UpstreamModel);
        await _usage.FinishAsync(call, 200, null, Metering.Nothing).ConfigureAwait(false);
        await WriteCountAsync(context, tokens).ConfigureAwait(false);
    }

    /// <summary>
    /// The concrete model behind <paramref name="alias"/>, if this key may call it: a model, a route (its first
    /// target) or an ensemble (its first panel member), each by its own price rules as the chat path resolves them.
    /// </summary>
    private static GatewayError? Resolve(GatewayState state, Keys.VirtualKey key, string alias, out ResolvedModel model)
    {
        // Routes may name routes; the configuration refuses cycles, and the depth bound keeps this total regardless.
        var target = alias;
        for (var depth = 0; depth < 16; depth++)
        {
            if (state.Config.Routes.TryGetValue(target, out var route) && route.Targets.Count > 0)
            {
                target = route.Targets[0];
            }
            else if (state.Config.Ensembles.TryGetValue(target, out var ensemble) && ensemble.Panel.Count > 0)
            {
                target = ensemble.Panel[0].Model;
            }
            else
            {
                break;
            }
        }

        if (ReferenceEquals(target, alias))
        {
            return ModelAccess.Resolve(state, key, alias, ModelKind.Chat, out model, out _);
        }

        model = null!;
        if (!key.Allows(alias))
        {
            return new GatewayError(GatewayErrorCode.ModelNotAllowed, $"The key '{key.Id}' may not use the model '{alias}'.", "model");
        }

        if (!state.Models.TryGetValue(target, out var resolved))
        {
            return new GatewayError(GatewayErrorCode.ModelNotFound, $"The model '{alias}' does not exist on this gateway.", "model");
        }

        model = resolved;
        return null;
    }

    private async Task ForwardAsync(OpenedCall opened, ResolvedModel model, JsonObject request)
    {
        var (context, call, state) = (opened.Context, opened.Call, opened.State);
        request["model"] = model.Model.UpstreamModel;
        using var buffer = new PooledBufferWriter(4096);
        using var upstreamRequest = UpstreamRequest.Create(model.Upstream, model.Upstream.CountTokensUri, request, buffer, context.Request);
        using var deadline = _upstream.Deadline(TimeSpan.FromSeconds(state.Config.Server.UpstreamTimeoutSeconds), context.RequestAborted);
        var sent = await _upstream.SendAsync(upstreamRequest, model.Upstream.Name, call.ModelAlias, deadline).ConfigureAwait(false);
        if (sent.Sent)
        {
            call.MarkSent();
        }

        if (sent.Response is not { } response)
        {
            await _opening.FailAsync(opened, UpstreamErrors.For(sent.Failure, call.Provider, call.ModelAlias, state.Config.Server.UpstreamTimeoutSeconds)).ConfigureAwait(false);
            return;
        }

        using (response)
        {
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                Log.UpstreamFailed(_logger, call.Provider, call.ModelAlias, ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));
                await _opening.FailAsync(opened, new GatewayError(GatewayErrorCode.UpstreamAuthFailed, $"The provider '{call.Provider}' refused the gateway's credentials.")).ConfigureAwait(false);
                return;
            }

            byte[] body;
            try
            {
                body = await UpstreamBody.ReadBoundedAsync(response.Content, MaxAnswerBytes, deadline.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (UpstreamClient.IsReadFailure(ex))
            {
                await _opening.FailAsync(opened, UpstreamErrors.For(UpstreamClient.ClassifyRead(ex, deadline), call.Provider, call.ModelAlias, state.Config.Server.UpstreamTimeoutSeconds)).ConfigureAwait(false);
                return;
            }

            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                if (!TryReadCount(body, out var tokens))
                {
                    await _opening.FailAsync(opened, UpstreamErrors.For(UpstreamFailure.InvalidResponse, call.Provider, call.ModelAlias, state.Config.Server.UpstreamTimeoutSeconds)).ConfigureAwait(false);
                    return;
                }

                await _usage.FinishAsync(call, 200, null, Metering.Nothing).ConfigureAwait(false);
                await WriteCountAsync(context, tokens).ConfigureAwait(false);
                return;
            }

            // The provider's refusal, relayed in Anthropic's shape (it bills none).
            Log.UpstreamFailed(_logger, call.Provider, call.ModelAlias, status.ToString(CultureInfo.InvariantCulture));
            if (!IsAnthropicError(body))
            {
                body = JsonSerializer.SerializeToUtf8Bytes(ErrorTranslation.OpenAiErrorToAnthropic(status, body), GatewayJsonContext.Default.JsonObject);
            }

            await _usage.FinishAsync(call, status, "upstream_" + status.ToString(CultureInfo.InvariantCulture), Metering.Nothing).ConfigureAwait(false);
            if (context.RequestAborted.IsCancellationRequested)
            {
                return;
            }

            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            if (response.Headers.RetryAfter is { Delta: { } delta })
            {
                context.Response.Headers.RetryAfter = ((int)Math.Ceiling(delta.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            }

            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>The provider's <c>{"input_tokens": N}</c>; false for anything else.</summary>
    private static bool TryReadCount(byte[] body, out long tokens)
    {
        tokens = 0;
        try
        {
            return JsonNode.Parse(body) is JsonObject answer && answer["input_tokens"] is JsonValue value
                && value.TryGetValue(out tokens) && tokens >= 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool IsAnthropicError(byte[] body)
    {
        try
        {
            return JsonNode.Parse(body) is JsonObject error && error["type"] is JsonValue type && type.TryGetValue<string>(out var text) && text == "error"
                && error["error"] is JsonObject;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static async Task WriteCountAsync(HttpContext context, long tokens)
    {
        if (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        using var buffer = new PooledBufferWriter(64);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("input_tokens"u8, tokens);
            json.WriteEndObject();
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }
}
