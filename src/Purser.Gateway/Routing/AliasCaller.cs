using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Purser.Configuration;
using Purser.Ensembles;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Logging;
using Purser.Gateway.Upstream;
using Purser.Pricing;
using Purser.Providers.Translation;
using Purser.Providers.Usage;
using Purser.Gateway.Pipeline;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Routing;

/// <summary>
/// Calls a model or routing alias once, buffered, with an OpenAI-format request, translating for Anthropic upstreams;
/// a routing alias fails over along its targets. Used for every sub-call of an ensemble and for routing aliases.
/// </summary>
internal sealed partial class AliasCaller
{
    private const int MaxUpstreamBodyBytes = 64 * 1024 * 1024;

    private readonly UpstreamClient _upstream;
    private readonly RouteHealth _health;
    private readonly TimeProvider _time;
    private readonly ILogger<AliasCaller> _logger;

    public AliasCaller(UpstreamClient upstream, RouteHealth health, TimeProvider time, ILogger<AliasCaller> logger)
    {
        _upstream = upstream;
        _health = health;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// The models a call of <paramref name="alias"/> may land on, with the max_tokens each would be sent; an error when
    /// one of them has no price (fail closed, as for a direct call).
    /// </summary>
    public static GatewayError? Shape(GatewayState state, string alias, int? callerMaxTokens, out CallShape shape)
    {
        var targets = new List<PricedTarget>();
        var error = CollectTargets(state, alias, callerMaxTokens, targets, 0);
        shape = error is null ? new CallShape(targets) : CallShape.Single(ModelPrice.Free, 0);
        return error;
    }

    /// <summary>The first model a call of <paramref name="alias"/> would try.</summary>
    public static ResolvedModel FirstModel(GatewayState state, string alias)
    {
        while (state.Config.Routes.TryGetValue(alias, out var route))
        {
            alias = route.Targets[0];
        }

        return state.Models[alias];
    }

    /// <summary>max_tokens for a model: the caller's, or the model's default, never above the model's ceiling.</summary>
    public static int MaxTokensFor(ModelConfig model, int? callerMaxTokens) =>
        Math.Min(callerMaxTokens ?? model.DefaultMaxTokens, model.MaxOutputTokens);

    /// <summary>
    /// Calls the alias; <paramref name="tried"/> collects every model attempted, in order. Each attempt takes its worst
    /// case (at most <paramref name="inputBound"/> of input) from <paramref name="allowance"/> before it is sent, and a
    /// route fails over only on the provider's failures and only while the next target's worst case still fits.
    /// </summary>
    public async Task<SubCallResult> CallAsync(GatewayState state, string alias, JsonObject request, int? callerMaxTokens, PanelMember? sampling, HttpRequest caller, List<string> tried, long inputBound, SpendAllowance allowance, CancellationToken ct)
    {
        if (!state.Config.Routes.TryGetValue(alias, out var route))
        {
            lock (tried)
            {
                tried.Add(alias);
            }

            var model = state.Models[alias];
            var worst = WorstCase(model, inputBound, callerMaxTokens);
            if (!allowance.TryTake(worst))
            {
                return SubCallResult.Failed(alias, NoHeadroom(alias), retryable: false);
            }

            var result = await CallModelAsync(state, model, request, callerMaxTokens, sampling, caller, inputBound, ct).ConfigureAwait(false);
            allowance.Return(worst, result.Cost);
            return result;
        }

        SubCallResult? last = null;
        foreach (var target in Order(route))
        {
            var result = await CallAsync(state, target, request, callerMaxTokens, sampling, caller, tried, inputBound, allowance, ct).ConfigureAwait(false);
            if (result.Ok)
            {
                _health.Succeeded(target);

                // Earlier attempts that reached the provider were billed too: the route's result carries their charge.
                return last is null ? result : result with { Cost = last.Cost + result.Cost, Usage = last.Usage + result.Usage };
            }

            if (last is not null && result.Error is { Code: GatewayErrorCode.BudgetExceeded })
            {
                // The hold cannot cover another attempt: the caller gets the last real failure, and what it was charged.
                return last with { Cost = last.Cost + result.Cost, Usage = last.Usage + result.Usage };
            }

            if (!result.Retryable || ct.IsCancellationRequested)
            {
                return last is null ? result : result with { Cost = last.Cost + result.Cost, Usage = last.Usage + result.Usage };
            }

            _health.Failed(target, route.CooldownSeconds);
            Log.RouteFailover(_logger, alias, target, ErrorTable.CodeOf(result.Error!.Value));
            last = last is null ? result : result with { Cost = last.Cost + result.Cost, Usage = last.Usage + result.Usage };
        }

        return last!;
    }

    /// <summary>The worst case of one call of <paramref name="model"/>: what its attempt takes from the allowance, and what it is charged when nothing can be known.</summary>
    public static Money WorstCase(ResolvedModel model, long inputBound, int? callerMaxTokens) =>
        (model.Model.Price ?? ModelPrice.Free).Cost(new Purser.Usage.TokenUsage(inputBound, MaxTokensFor(model.Model, callerMaxTokens)));

    private static GatewayError NoHeadroom(string alias) =>
        new(GatewayErrorCode.BudgetExceeded, $"The request's hold has no room left for another attempt at '{alias}'.");

    /// <summary>
    /// The models a call of <paramref name="alias"/> tries, in the order it would try them (a nested route's own order
    /// in its place): what a caller that opens its own attempts (the Responses API) fails over along.
    /// </summary>
    public List<string> ModelsInOrder(GatewayState state, string alias)
    {
        var models = new List<string>();
        AddInOrder(state, alias, models, 0);
        return models;
    }

    /// <summary>Marks a route target as failed (cooling for <paramref name="cooldownSeconds"/>) or healthy again, for a caller that opens its own attempts.</summary>
    public void Attempted(string target, bool failed, int cooldownSeconds)
    {
        if (failed)
        {
            _health.Failed(target, cooldownSeconds);
        }
        else
        {
            _health.Succeeded(target);
        }
    }

    private void AddInOrder(GatewayState state, string alias, List<string> models, int depth)
    {
        if (!state.Config.Routes.TryGetValue(alias, out var route))
        {
            if (!models.Contains(alias))
            {
                models.Add(alias);
            }

            return;
        }

        // The loader refuses cycles; the depth bound only keeps a bug from recursing forever.
        if (depth <= 16)
        {
            foreach (var target in Order(route))
            {
                AddInOrder(state, target, models, depth + 1);
            }
        }
    }

    /// <summary>
    /// Healthy targets first, in the operator's order; cooling ones last rather than never, since a request that
    /// would otherwise fail might as well try them.
    /// </summary>
    private List<string> Order(RouteConfig route)
    {
        var order = new List<string>(route.Targets.Count);
        foreach (var target in route.Targets)
        {
            if (!_health.IsCooling(target))
            {
                order.Add(target);
            }
        }

        foreach (var target in route.Targets)
        {
            if (_health.IsCooling(target))
            {
                order.Add(target);
            }
        }

        return order;
    }

    private static GatewayError? CollectTargets(GatewayState state, string alias, int? callerMaxTokens, List<PricedTarget> targets, int depth)
    {
        if (state.Config.Routes.TryGetValue(alias, out var route))
        {
            // The loader refuses cycles; the depth bound only keeps a bug from recursing forever.
            if (depth > 16)
            {
                return new GatewayError(GatewayErrorCode.InvalidRequest, $"The route '{alias}' nests too deeply.", "model");
            }

            foreach (var target in route.Targets)
            {
                if (CollectTargets(state, target, callerMaxTokens, targets, depth + 1) is { } error)
                {
                    return error;
                }
            }

            return null;
        }

        var model = state.Models[alias];
        if (model.Model.Price is not { } price)
        {
            if (!model.Model.Free)
            {
                return new GatewayError(GatewayErrorCode.ModelNotPriced, $"The model '{alias}' has no price configured, so the gateway cannot account for it. Add a price, or mark it free: true.", "model");
            }

            price = ModelPrice.Free;
        }

        targets.Add(new PricedTarget(price, MaxTokensFor(model.Model, callerMaxTokens), model.Model.UpstreamModel, model.Upstream.Kind == ProviderKind.Anthropic, model.Model.ContextWindow));
        return null;
    }

    private async Task<SubCallResult> CallModelAsync(GatewayState state, ResolvedModel model, JsonObject request, int? callerMaxTokens, PanelMember? sampling, HttpRequest caller, long inputBound, CancellationToken ct)
    {
        var alias = model.Alias;
        var anthropic = model.Upstream.Kind == ProviderKind.Anthropic;
        if (BuildBody(model, request, callerMaxTokens, sampling, stream: false, out var body) is { } badBody)
        {
            return SubCallResult.Failed(alias, badBody, retryable: false);
        }

        using var buffer = new PooledBufferWriter(4096);
        var uri = model.ChatUri;
        using var upstreamRequest = UpstreamRequest.Create(model.Upstream, uri, body, buffer, caller);
        using var deadline = _upstream.Deadline(TimeSpan.FromSeconds(state.Config.Server.UpstreamTimeoutSeconds), ct);
        var sent = await _upstream.SendAsync(upstreamRequest, model.Upstream.Name, alias, deadline).ConfigureAwait(false);
        var worst = WorstCase(model, inputBound, callerMaxTokens);
        if (sent.Response is not { } response)
        {
            return Failure(state, model, sent.Failure, sent.Sent ? worst : Money.Zero, inputBound, callerMaxTokens);
        }

        byte[] responseBody;
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                Log.UpstreamFailed(_logger, model.Upstream.Name, alias, ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));
                return StatusFailure(alias, model.Upstream.Name, response.StatusCode);
            }

            try
            {
                responseBody = await UpstreamBody.ReadBoundedAsync(response.Content, MaxUpstreamBodyBytes, deadline.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (UpstreamClient.IsReadFailure(ex))
            {
                // Answered 2xx, then broke: billed, and nothing says how much.
                return Failure(state, model, UpstreamClient.ClassifyRead(ex, deadline), worst, inputBound, callerMaxTokens);
            }
        }

        var usageFound = anthropic ? UsageReader.TryReadAnthropic(responseBody, out var usage) : UsageReader.TryReadOpenAi(responseBody, out usage);
        var parsed = usageFound ? UpstreamBody.ParseObject(responseBody) : null;
        var price = model.Model.Price ?? ModelPrice.Free;
        if (parsed is null || !Plausible(usage, price, worst))
        {
            Log.UpstreamFailed(_logger, model.Upstream.Name, alias, parsed is null ? "unreadable" : "implausible_usage");
            return Failure(state, model, UpstreamFailure.InvalidResponse, worst, inputBound, callerMaxTokens);
        }

        if (anthropic)
        {
            parsed = OpenAiToAnthropic.TranslateResponse(parsed, alias, _time.GetUtcNow().ToUnixTimeSeconds());
        }

        return new SubCallResult(alias, parsed, usage, price.Cost(usage), null, false);
    }

    /// <summary>A failed attempt: the caller's error for it, whether a route may try the next target, and what it is charged (its worst case once it reached the provider).</summary>
    private static SubCallResult Failure(GatewayState state, ResolvedModel model, UpstreamFailure failure, Money charged, long inputBound, int? callerMaxTokens)
    {
        var error = failure == UpstreamFailure.CallerGone
            ? new GatewayError(GatewayErrorCode.UpstreamTimeout, $"The model '{model.Alias}' did not answer in time.")
            : UpstreamErrors.For(failure, model.Upstream.Name, model.Alias, state.Config.Server.UpstreamTimeoutSeconds);
        var usage = charged == Money.Zero ? default : new Purser.Usage.TokenUsage(inputBound, MaxTokensFor(model.Model, callerMaxTokens));
        return new SubCallResult(model.Alias, null, usage, charged, error, UpstreamErrors.ProviderCaused(failure)) { Failure = failure };
    }

    private static bool Plausible(Purser.Usage.TokenUsage usage, ModelPrice price, Money worst) =>
        usage.InputTokens is >= 0 and < Metering.MaxPlausibleTokens && usage.OutputTokens is >= 0 and < Metering.MaxPlausibleTokens
        && usage.CachedInputTokens is >= 0 and < Metering.MaxPlausibleTokens && usage.CacheWriteTokens is >= 0 and < Metering.MaxPlausibleTokens
        && price.Cost(usage) <= worst;

    /// <summary>The upstream body for one model: the caller's request with the model's name, max_tokens and sampling, translated for Anthropic.</summary>
    private static GatewayError? BuildBody(ResolvedModel model, JsonObject request, int? callerMaxTokens, PanelMember? sampling, bool stream, out JsonObject body)
    {
        var maxTokens = MaxTokensFor(model.Model, callerMaxTokens);
        body = (JsonObject)request.DeepClone();
        body.Remove("stream");
        body.Remove("stream_options");
        body.Remove("max_completion_tokens");
        body["model"] = model.Model.UpstreamModel;
        body["max_tokens"] = maxTokens;
        if (sampling?.Temperature is { } temperature)
        {
            body["temperature"] = temperature;
        }

        if (sampling?.Seed is { } seed)
        {
            body["seed"] = seed;
        }

        if (model.Upstream.Kind == ProviderKind.Anthropic)
        {
            body.Remove("seed");
            if (!OpenAiToAnthropic.TryTranslateRequest(body, model.Model.UpstreamModel, maxTokens, out var translated, out var translationError))
            {
                return new GatewayError(GatewayErrorCode.InvalidRequest, translationError.Message, translationError.Param);
            }

            body = translated;
            if (stream)
            {
                body["stream"] = true;
            }

            return null;
        }

        if (model.Upstream.UsesMaxCompletionTokens && body.Remove("max_tokens", out var limit))
        {
            body["max_completion_tokens"] = limit;
        }

        if (stream)
        {
            // The usage chunk is what the stream settles from; without it the gateway would have to count.
            body["stream"] = true;
            body["stream_options"] = new JsonObject { ["include_usage"] = true };
        }

        return null;
    }

    private static SubCallResult StatusFailure(string alias, string provider, HttpStatusCode status)
    {
        var code = (int)status;
        if (status == HttpStatusCode.TooManyRequests)
        {
            return SubCallResult.Failed(alias, new GatewayError(GatewayErrorCode.UpstreamRateLimited, $"The model '{alias}' is rate limited."), retryable: true);
        }

        if (status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            return SubCallResult.Failed(alias, new GatewayError(GatewayErrorCode.UpstreamAuthFailed, $"The provider '{provider}' refused the gateway's credentials."), retryable: false);
        }

        if (code >= 500)
        {
            return SubCallResult.Failed(alias, new GatewayError(GatewayErrorCode.UpstreamServerError, $"The model '{alias}' failed with HTTP {code.ToString(CultureInfo.InvariantCulture)}."), retryable: true);
        }

        return SubCallResult.Failed(alias, new GatewayError(GatewayErrorCode.InvalidRequest, $"The model '{alias}' refused the request with HTTP {code.ToString(CultureInfo.InvariantCulture)}.") { StatusOverride = code }, retryable: false);
    }
}
