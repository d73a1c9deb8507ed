using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Ensembles;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Logging;
using Purser.Gateway.Routing;
using Purser.Keys;
using Purser.Pricing;
using Purser.Providers.Translation;
using Purser.Usage;
using Purser.Gateway.Pipeline;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Ensembles;

/// <summary>
/// Serves an ensemble or routing alias once the caller is authenticated and its body parsed: plan the ensemble under
/// its guardrail before any call, hold the whole projection on the caller's budgets in one reservation, run the panel
/// concurrently, re-check before the judge, and settle the reservation to the sum of every sub-call. Every sub-call is
/// buffered (see <see cref="EnsembleResponseWriter"/>), and the caller gets one answer and one usage record.
/// </summary>
internal sealed partial class EnsembleExecutor
{
    private readonly AliasCaller _caller;
    private readonly BudgetAdmission _budgets;
    private readonly BudgetEvents _events;
    private readonly Pipeline.RateGate _rates;
    private readonly UsageRecorder _usage;
    private readonly ILogger<EnsembleExecutor> _logger;
    private readonly TimeProvider _time;

    public EnsembleExecutor(AliasCaller caller, BudgetAdmission budgets, BudgetEvents events, UsageRecorder usage, Pipeline.RateGate rates, TimeProvider time, ILogger<EnsembleExecutor> logger)
    {
        _rates = rates;
        _time = time;
        _caller = caller;
        _budgets = budgets;
        _events = events;
        _usage = usage;
        _logger = logger;
    }

    public static bool Handles(GatewayState state, string alias) =>
        state.Config.Ensembles.ContainsKey(alias) || state.Config.Routes.ContainsKey(alias);

    public async Task HandleAsync(HttpContext context, GatewayState state, CallRecord call, VirtualKey key, JsonObject request, int bodyBytes, ApiFormat callerFormat, bool stream, int? callerMaxTokens)
    {
        var alias = call.ModelAlias;
        var ct = context.RequestAborted;
        if (!key.Allows(alias))
        {
            await FailAsync(context, call, new GatewayError(GatewayErrorCode.ModelNotAllowed, $"The key '{key.Id}' may not use the model '{alias}'.", "model"), callerFormat, new Spend(), null).ConfigureAwait(false);
            return;
        }

        // 1. One internal format: every sub-call is built from an OpenAI request and answers as a chat.completion.
        var openAi = request;
        if (callerFormat == ApiFormat.Anthropic && !AnthropicToOpenAi.TryTranslateRequest(request, alias, out openAi, out var translationError))
        {
            await FailAsync(context, call, new GatewayError(GatewayErrorCode.InvalidRequest, translationError.Message, translationError.Param), callerFormat, new Spend(), null).ConfigureAwait(false);
            return;
        }

        // Issue 13: every call that sends the caller's request is held at that request's worst case (n, images, tools).
        var shapeError = RequestShapes.Read(request, callerFormat, bodyBytes, out var requestShape)
            ?? BetaHeaders.Check(context.Request.Headers, state.Config.Server.AnthropicBetas, requestShape);
        if (shapeError is { } badShapeField)
        {
            await FailAsync(context, call, badShapeField, callerFormat, new Spend(), null).ConfigureAwait(false);
            return;
        }

        // 2. The plan: an ensemble's guardrail decides full, shrunk, degraded or refused before anything is spent.
        var (plan, shapes, judgeShape, single, inputBound, planError) = Plan(state, alias, callerMaxTokens, requestShape);
        if (planError is { } badPlan)
        {
            await FailAsync(context, call, badPlan, callerFormat, new Spend(), null).ConfigureAwait(false);
            return;
        }

        call.InputTokenBound = inputBound;

        state.Config.Ensembles.TryGetValue(alias, out var ensemble);
        if (plan.Kind == PlanKind.Fail)
        {
            var reason = "refused:" + plan.Cap;
            _events.Ensemble(call.Subject, plan.Message!);
            EnsembleMetrics.Outcome(alias, "refused");
            Log.EnsembleOutcome(_logger, call.RequestId, alias, reason);
            context.Response.Headers["x-ensemble-projected-cost"] = plan.Projection.Cost.ToString();
            await FailAsync(context, call, new GatewayError(GatewayErrorCode.EnsembleCapExceeded, plan.Message!, "model"), callerFormat, new Spend(), "ensemble:" + reason).ConfigureAwait(false);
            return;
        }

        // 3. Budgets: one reservation for the whole projection, settled to the actual sum at the end.
        var headerError = BudgetRequestHeaders.Parse(context.Request.Headers, out var budgetHeaders);
        if (headerError is { } badHeader)
        {
            await FailAsync(context, call, badHeader, callerFormat, new Spend(), null).ConfigureAwait(false);
            return;
        }

        // The chat path resolved the end user and tags (the body's user field included) before handing the request here.
        if (call.Caller is { } caller)
        {
            budgetHeaders = budgetHeaders with { EndUser = caller.EndUser, Tags = caller.Tags };
        }

        call.TaskScope = budgetHeaders.TaskId;
        var (path, pathError) = await _budgets.PathAsync(state, key, budgetHeaders, alias, ct).ConfigureAwait(false);
        if (pathError is { } badPath)
        {
            await FailAsync(context, call, badPath, callerFormat, new Spend(), null).ConfigureAwait(false);
            return;
        }

        var anchor = AliasCaller.FirstModel(state, single ?? ensemble!.Judge);
        var holdTtl = TimeSpan.FromSeconds(state.Config.Server.UpstreamTimeoutSeconds + 60 + ((ensemble?.TimeoutMs ?? 0) / 1000));
        // Rate limits before anything is held: the request counts once, with every sub-call's worst-case tokens.
        if (await _rates.AdmitAsync(context, call, state, key, budgetHeaders.TaskId, alias, plan.Projection.Tokens, callerFormat).ConfigureAwait(false) is { } limited)
        {
            await FailAsync(context, call, limited, callerFormat, new Spend(), null).ConfigureAwait(false);
            return;
        }

        var (admission, refusal) = await _budgets.AdmitAsync(
            new AdmissionRequest(call.RequestId, state, path, budgetHeaders.Hint, anchor, ModelPrice.Free, inputBound, 0, holdTtl, AllowDegrade: false, FixedAmount: plan.Projection.Cost, FixedTokens: plan.Projection.Tokens, Shape: requestShape,
                Reservation: budgetHeaders.ReservationId is { } reservationId ? new ReservationDraw(reservationId, key.Id) : null),
            ct).ConfigureAwait(false);
        if (refusal is { } refused)
        {
            _events.Blocked(call.Subject, refused);
            await FailAsync(context, call, refused, callerFormat, new Spend(), null).ConfigureAwait(false);
            return;
        }

        if (await _rates.ThrottleAsync(context, call, admission!, callerFormat).ConfigureAwait(false) is { } throttled)
        {
            await FailAsync(context, call, throttled, callerFormat, new Spend(), null).ConfigureAwait(false);
            return;
        }

        call.Admission = admission;
        ReservationRequests.ApplyRemaining(context.Response, admission);

        // Every sub-call takes its worst case from what this request holds, so all of them together — failed attempts
        // that reached a provider included — are charged at most the hold.
        var allowance = new SpendAllowance(admission!.Amount);

        // From here sub-calls may reach providers: should anything unexpected end the request, the guard charges the
        // hold rather than nothing.
        call.MarkSent();
        var headers = context.Response.Headers;
        var spend = new Spend();
        var tried = new List<string>();
        string? degraded = null;
        SubCallResult served;

        // 4. The calls.
        if (single is not null)
        {
            if (ensemble is not null)
            {
                degraded = "degraded_to:" + single + ":" + plan.Cap;
            }

            // A buffered call is read to its end even if the caller leaves: its answer says what it is billed.
            served = await _caller.CallAsync(state, single, openAi, callerMaxTokens, null, context.Request, tried, inputBound, allowance, CancellationToken.None).ConfigureAwait(false);
            spend.Add(served);
        }
        else
        {
            var ran = await RunPanelAsync(context, state, ensemble!, plan, shapes!, judgeShape!, openAi, callerMaxTokens, tried, spend, stream, inputBound, allowance).ConfigureAwait(false);
            headers["x-ensemble-panel"] = ran.Panel;
            if (ran.Error is { } panelError)
            {
                await FailAsync(context, call, panelError, callerFormat, spend, plan.Kind == PlanKind.Shrunk ? "ensemble:panel_shrunk:" + plan.Cap : null).ConfigureAwait(false);
                return;
            }

            if (ran.JudgeStream is { } judgeStream)
            {
                await StreamJudgeAsync(context, call, plan, ran, judgeStream, spend, callerFormat, WantsStreamUsage(request)).ConfigureAwait(false);
                return;
            }

            served = ran.Served!;
            degraded = ran.Degraded;
        }

        if (ensemble is not null)
        {
            Report(context, call, plan, degraded);
            headers["x-ensemble-actual-cost"] = spend.Cost.ToString();
            headers["x-ensemble-served-by"] = served.ServedBy;
        }
        else
        {
            headers["x-route-tried"] = string.Join(',', tried);
            headers["x-route-served"] = served.ServedBy;
            if (tried.Count > 1 && served.Ok)
            {
                EnsembleMetrics.Failover(alias);
            }
        }

        if (!served.Ok)
        {
            await FailAsync(context, call, served.Error!.Value, callerFormat, spend, degraded is null ? null : "ensemble:" + degraded).ConfigureAwait(false);
            return;
        }

        // 5. Settle to the sum of every sub-call, then answer.
        var servedModel = state.Models[served.ServedBy];
        call.Provider = servedModel.Upstream.Name;
        call.UpstreamModel = servedModel.Model.UpstreamModel;
        var answer = EnsembleResponseWriter.Finalize(served.Response!, alias, call.RequestId, spend.Usage);
        headers["x-request-cost"] = spend.Cost.ToString();
        var gone = context.RequestAborted.IsCancellationRequested;
        var standing = await _usage.FinishAsync(call, gone ? 499 : 200, gone ? "client_closed" : null, spend.Usage, spend.Source, spend.Cost, degraded is null ? null : "ensemble:" + degraded).ConfigureAwait(false);
        if (gone)
        {
            return;
        }

        BudgetHeaders.Apply(context.Response, standing);
        await EnsembleResponseWriter.WriteAsync(context, answer, alias, callerFormat, stream, callerFormat == ApiFormat.OpenAI && WantsStreamUsage(request), spend.Cost).ConfigureAwait(false);
    }

    /// <summary>The outcome of an ensemble that ran: metric, log line, event, and the headers known before the answer.</summary>
    private void Report(HttpContext context, CallRecord call, EnsemblePlan plan, string? degraded)
    {
        var alias = call.ModelAlias;
        var headers = context.Response.Headers;
        var outcome = degraded is null ? "full" : degraded[..degraded.IndexOf(':', StringComparison.Ordinal)];
        EnsembleMetrics.Outcome(alias, outcome);
        Log.EnsembleOutcome(_logger, call.RequestId, alias, degraded ?? "full");
        if (degraded is not null)
        {
            _events.Ensemble(call.Subject, degraded);
            headers["x-ensemble-degraded"] = degraded;
        }

        headers["x-ensemble-projected-cost"] = plan.Projection.Cost.ToString();
        headers["x-ensemble-projected-tokens"] = plan.Projection.Tokens.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The plan, the shapes of its calls, and the caller's input bound: the most input any model that may be sent the
    /// caller's request can bill for it (<see cref="CallShape.InputTokens"/>, the one worst-case function).
    /// </summary>
    private static (EnsemblePlan Plan, CallShape[]? Panel, CallShape? Judge, string? Single, long InputBound, GatewayError? Error) Plan(GatewayState state, string alias, int? callerMaxTokens, RequestShape request)
    {
        if (!state.Config.Ensembles.TryGetValue(alias, out var ensemble))
        {
            if (AliasCaller.Shape(state, alias, callerMaxTokens, out var routeShape) is { } routeError)
            {
                return (null!, null, null, alias, 0, routeError);
            }

            var routeInput = routeShape.InputTokens(request);
            return (new EnsemblePlan(PlanKind.Degrade, [], routeShape.WithRequest(request).Estimate(routeInput), default, null, null), null, null, alias, routeInput, null);
        }

        var panel = new CallShape[ensemble.Panel.Count];
        for (var i = 0; i < panel.Length; i++)
        {
            if (AliasCaller.Shape(state, ensemble.Panel[i].Model, callerMaxTokens, out panel[i]) is { } memberError)
            {
                return (null!, null, null, null, 0, memberError);
            }

            panel[i] = panel[i].WithRequest(request);
        }

        if (AliasCaller.Shape(state, ensemble.Judge, callerMaxTokens, out var judge) is { } judgeError)
        {
            return (null!, null, null, null, 0, judgeError);
        }

        var degradeTo = ensemble.Guardrail.DegradeTo switch
        {
            EnsembleGuardrail.DegradeToJudge => ensemble.Judge,
            EnsembleGuardrail.DegradeToFirstPanel => ensemble.Panel[0].Model,
            var other => other,
        };
        if (AliasCaller.Shape(state, degradeTo, callerMaxTokens, out var degrade) is { } degradeError)
        {
            return (null!, null, null, null, 0, degradeError);
        }

        degrade = degrade.WithRequest(request);

        // The judge is sent the caller's messages too, so the caller's bound is the largest over every model in play.
        var inputBound = Math.Max(judge.InputTokens(request), degrade.InputTokens(request));
        foreach (var member in panel)
        {
            inputBound = Math.Max(inputBound, member.InputTokens(request));
        }

        var plan = EnsemblePlanner.Plan(ensemble, inputBound, panel, judge, degrade);
        return (plan, panel, judge, plan.Kind == PlanKind.Degrade ? degradeTo : null, inputBound, null);
    }

    private async Task<PanelRun> RunPanelAsync(HttpContext context, GatewayState state, EnsembleConfig ensemble, EnsemblePlan plan, CallShape[] shapes, CallShape judgeShape, JsonObject openAi, int? callerMaxTokens, List<string> tried, Spend spend, bool stream, long inputBound, SpendAllowance allowance)
    {
        var degraded = plan.Kind == PlanKind.Shrunk ? "panel_shrunk:" + plan.Cap : null;
        var names = new StringBuilder();
        var tasks = new Task<SubCallResult>[plan.Panel.Count];

        // The panel's own deadline, on the system's TimeProvider on purpose: it bounds real network waits of calls that
        // run while the injected clock may stand still (tests fake it to move budget windows); a caller who hangs up does not cut calls
        // already sent (their answers say what they are billed), but no judge is called for a caller who is gone.
        using (var panelTimeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(ensemble.TimeoutMs), TimeProvider.System))
        {
            for (var i = 0; i < tasks.Length; i++)
            {
                var member = ensemble.Panel[plan.Panel[i]];
                names.Append(i == 0 ? "" : ",").Append(member.Model);
                tasks[i] = _caller.CallAsync(state, member.Model, openAi, callerMaxTokens, member, context.Request, tried, inputBound, allowance, panelTimeout.Token);
            }

            await Task.WhenAll(tasks).ConfigureAwait(false);
        }

        var answers = new List<SubCallResult>(tasks.Length);
        foreach (var task in tasks)
        {
            var result = task.Result;
            spend.Add(result);
            if (result.Ok)
            {
                answers.Add(result);
            }
        }

        if (context.RequestAborted.IsCancellationRequested)
        {
            return new PanelRun(null, degraded, names.ToString(), new GatewayError(GatewayErrorCode.InvalidRequest, "The caller closed the connection before the judge was called."));
        }

        if (answers.Count < ensemble.MinResponses)
        {
            return new PanelRun(null, degraded, names.ToString(), new GatewayError(GatewayErrorCode.EnsemblePanelFailed, string.Create(CultureInfo.InvariantCulture,
                $"Only {answers.Count} of {tasks.Length} panel members of '{ensemble.Alias}' answered within {ensemble.TimeoutMs} ms; it needs {ensemble.MinResponses}.")));
        }

        // Mid-flight: the panel has spent what it spent; the judge runs only if its input, now known to the byte,
        // still fits the caps and what is left of the reservation.
        var judgeRequest = JudgeRequest.Build(openAi, ensemble.SynthesisPrompt, answers);
        var judgeBytes = JsonSerializer.SerializeToUtf8Bytes(judgeRequest, GatewayJsonContext.Default.JsonObject).Length;
        var (judgeInput, judgeEstimate) = JudgeBound.Of(judgeShape, judgeRequest, judgeBytes);
        var blocked = EnsemblePlanner.JudgeBlockedBy(ensemble.Guardrail, new CallEstimate(spend.Cost, spend.Usage.TotalTokens), judgeEstimate, plan.Projection);
        if (blocked is not null)
        {
            return new PanelRun(Best(answers), "judge_skipped:" + blocked, names.ToString(), null);
        }

        var judgeTried = new List<string>();
        if (stream)
        {
            // The reservation covers the judge's worst case, so its answer can go to the caller as it is written;
            // only a judge that does not open (before its first byte) leaves the best panel answer to serve.
            var opened = await _caller.OpenStreamAsync(state, ensemble.Judge, judgeRequest, callerMaxTokens, context.Request, judgeTried, judgeInput, allowance, context.RequestAborted).ConfigureAwait(false);
            spend.AddCharged(opened.EarlierAttempts.Cost, opened.EarlierAttempts.Usage);
            if (opened.Failure is { } notOpened)
            {
                spend.Add(notOpened);
                opened.Dispose();
                return new PanelRun(Best(answers), "judge_failed:" + ErrorTable.CodeOf(notOpened.Error!.Value), names.ToString(), null);
            }

            return new PanelRun(null, degraded, names.ToString(), null, opened, judgeInput);
        }

        var judge = await _caller.CallAsync(state, ensemble.Judge, judgeRequest, callerMaxTokens, null, context.Request, judgeTried, judgeInput, allowance, CancellationToken.None).ConfigureAwait(false);
        spend.Add(judge);
        return judge.Ok
            ? new PanelRun(judge, degraded, names.ToString(), null)
            : new PanelRun(Best(answers), "judge_failed:" + ErrorTable.CodeOf(judge.Error!.Value), names.ToString(), null);
    }

    /// <summary>The best panel answer when the judge does not run: the first, in panel order, that finished rather than being cut off.</summary>
    private static SubCallResult Best(List<SubCallResult> answers)
    {
        foreach (var answer in answers)
        {
            if (JudgeRequest.FinishReason(answer.Response) == "stop")
            {
                return answer;
            }
        }

        return answers[0];
    }

    private static bool WantsStreamUsage(JsonObject request) =>
        request["stream_options"] is JsonObject options
        && options["include_usage"] is JsonValue include
        && include.TryGetValue<bool>(out var wants) && wants;

    private async Task FailAsync(HttpContext context, CallRecord call, GatewayError error, ApiFormat format, Spend spend, string? degraded)
    {
        // Sub-calls that reached a provider were paid for, whatever happened next: they are charged even on an error.
        var source = spend.Cost == Money.Zero && spend.Usage.TotalTokens == 0 ? UsageSource.None : spend.Source;
        var gone = context.RequestAborted.IsCancellationRequested;
        var standing = await _usage.FinishAsync(call, gone ? 499 : ErrorTable.StatusOf(error), gone ? "client_closed" : ErrorTable.CodeOf(error), spend.Usage, source, spend.Cost, degraded).ConfigureAwait(false);
        BudgetHeaders.Apply(context.Response, standing);
        await ErrorWriter.WriteAsync(context, error, format).ConfigureAwait(false);
    }

    /// <summary>What the panel left to serve: a buffered answer, an error, or the judge's open stream (with its input bound, settled from when the stream reports no usage).</summary>
    private sealed record PanelRun(SubCallResult? Served, string? Degraded, string Panel, GatewayError? Error, StreamedCall? JudgeStream = null, long JudgeInputBound = 0);

    /// <summary>What the request's sub-calls spent so far: answers at their reported usage, and attempts that reached a provider but failed at their worst case.</summary>
    private sealed class Spend
    {
        private readonly Lock _lock = new();

        public TokenUsage Usage { get; private set; }

        public Money Cost { get; private set; }

        /// <summary>Reported, unless some part was charged without a report (then Held).</summary>
        public UsageSource Source { get; private set; } = UsageSource.Reported;

        public void Add(SubCallResult result)
        {
            if (!result.Ok && result.Cost != Money.Zero)
            {
                Source = UsageSource.Held;
            }

            AddCharged(result.Cost, result.Usage);
        }

        public void AddCharged(Money cost, TokenUsage usage)
        {
            lock (_lock)
            {
                Usage += usage;
                Cost += cost;
            }
        }
    }
}
