using System.Collections.Concurrent;
using Purser.Budgets;
using Purser.Budgets.Reservations;
using Purser.Configuration;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Keys;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Gateway.Budgets;

/// <summary>
/// Decides whether a request may start, and holds its worst case on every budget of its path (organisation, team,
/// key, task) in one atomic ledger step. When the worst case does not fit a budget that allows it, the request is
/// degraded — a lower <c>max_tokens</c>, then a cheaper model — before it is refused with a 402.
/// <code>
///  1 PathAsync (BudgetAdmission.Path.cs): the budgets on the key's path, each in its current window, rolling pasts read
///  2 AdmitAsync: the worst case bound (refused if unbounded under a hard reserve budget) ─► the caller's hint checked
///    ─► one atomic hold on every line, degrading max_tokens then the model where a budget allows ─► or a 402
///    └► a reservation named: drawn from it instead (DrawAsync)
///  3 a task named for the first time is created now that its first call holds money (else the hold is released)
///  ledger unreachable at any step: refused (503), or admitted against this instance's fail-open allowance
/// </code>
/// </summary>
internal sealed partial class BudgetAdmission
{
    private static readonly GatewayError LedgerUnavailable =
        new(GatewayErrorCode.LedgerUnavailable, "The budget ledger is unavailable, so the gateway refuses to spend; retry shortly.") { RetryAfterSeconds = 1 };

    private readonly IBudgetLedger _ledger;
    private readonly TaskBudgets _tasks;
    private readonly TimeProvider _time;
    private readonly BudgetEvents _events;
    private readonly FailOpenAllowance? _failOpen;
    private readonly RollingWindows _rolling;
    private readonly IReservationLedger? _reservations;

    public BudgetAdmission(IBudgetLedger ledger, TaskBudgets tasks, TimeProvider time, BudgetEvents events, FailOpenAllowance? failOpen)
    {
        _reservations = ledger as IReservationLedger;
        _ledger = ledger;
        _tasks = tasks;
        _time = time;
        _events = events;
        _failOpen = failOpen;
        _rolling = new RollingWindows(ledger);
    }

    /// <summary>The end users of <c>user:*</c> budgets, bounded per budget and window; null counts none (tests without a host).</summary>
    public EndUserCounters? EndUsers { get; init; }

    /// <summary>
    /// Holds the worst case of the request on its path, degrading it where a budget allows, or refuses it.
    /// The returned admission must be settled exactly once.
    /// </summary>
    public async ValueTask<(Admission? Admission, GatewayError? Error)> AdmitAsync(AdmissionRequest request, CancellationToken cancellationToken)
    {
        using var span = Telemetry.GatewayTracing.StartAdmission();
        (Admission? Admission, GatewayError? Error) admitted;
        try
        {
            admitted = await AdmitCoreAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (LedgerUnavailableException)
        {
            span?.SetTag("purser.ledger.unavailable", true);
            // Fail closed by default: without the ledger the gateway cannot know what is left, so it spends nothing.
            // Fail open only when configured, and only within this instance's local allowance.
            return FailOpen(request);
        }

        if (admitted.Admission is { Held: true } held)
        {
            admitted = await CreatePendingTaskAsync(request, held, cancellationToken).ConfigureAwait(false);
        }

        if (span is not null)
        {
            Telemetry.GatewayTracing.Admitted(span, admitted.Admission?.Amount, admitted.Admission?.Degraded, admitted.Error is { } refused ? ErrorTable.CodeOf(refused) : null);
        }

        return admitted;
    }

    /// <summary>
    /// A task named for the first time is stored only now that its first call holds money on it, so a refused call
    /// creates nothing. When the store says no (a concurrent call created it with another ceiling, the key's open-task
    /// limit, an outage) the hold is released and the call refused.
    /// </summary>
    private async ValueTask<(Admission? Admission, GatewayError? Error)> CreatePendingTaskAsync(AdmissionRequest request, Admission admission, CancellationToken cancellationToken)
    {
        PathLine? pending = null;
        foreach (var line in request.Lines)
        {
            pending = line.CreateFor is null ? pending : line;
        }

        if (pending is not { CreateFor: { } key })
        {
            return (admission, null);
        }

        GatewayError? refusal;
        try
        {
            refusal = await _tasks.CreateAsync(pending.Budget, key, request.State.Config.Server.MaxOpenTasksPerKey, cancellationToken).ConfigureAwait(false);
        }
        catch (LedgerUnavailableException)
        {
            refusal = LedgerUnavailable;
        }

        if (refusal is null)
        {
            return (admission, null);
        }

        await admission.SettleAsync(_ledger, Money.Zero, 0).ConfigureAwait(false);
        return (null, refusal);
    }

    /// <summary>
    /// The worst case of the request on <paramref name="model"/> with every choice limited to <paramref name="maxTokens"/>:
    /// from its shape when it has one (chat), else its input bound and max tokens (embeddings, ensembles).
    /// </summary>
    internal static WorstCase Bound(AdmissionRequest request, ResolvedModel model, int maxTokens) => Bound(request.Shape, request, model, maxTokens);

    /// <summary>The tokens of the worst case <see cref="AdmitAsync"/> would hold, before any degrade: what rate limits take at admission.</summary>
    internal static long WorstTokens(RequestShape? shape, ResolvedModel model, long inputTokenBound, int maxTokens) =>
        shape is { } s
            ? WorstCases.Of(s, model.Model.UpstreamModel, model.Upstream.Kind == ProviderKind.Anthropic, model.Model.ContextWindow, maxTokens).Tokens
            : inputTokenBound + maxTokens;

    private static WorstCase Bound(RequestShape? requestShape, AdmissionRequest request, ResolvedModel model, int maxTokens) =>
        requestShape is { } shape
            ? WorstCases.Of(shape, model.Model.UpstreamModel, model.Upstream.Kind == ProviderKind.Anthropic, model.Model.ContextWindow, maxTokens)
            : new WorstCase(request.InputTokenBound, maxTokens, 0, ServiceTier.Default, CacheWriteKind.None, null);

    /// <summary>Reserve mode promises the cap: a request with no bound is refused where a hard reserve budget applies.</summary>
    private static GatewayError? RefuseUnbounded(IReadOnlyList<PathLine> lines, in WorstCase bound)
    {
        if (bound.Unbounded is not { } reason)
        {
            return null;
        }

        foreach (var line in lines)
        {
            if (line.Budget.Mode == AccountingMode.Reserve && line.Budget.Enforcement == Enforcement.Hard)
            {
                return new GatewayError(
                    GatewayErrorCode.UnboundedRequest,
                    $"The gateway cannot bound what this request may cost ({reason}), and the {line.ScopeText} budget reserves the worst case before a call. "
                    + "Set max_uses on server tools, send documents as text or to a model with a known context window, or use a post_hoc budget.");
            }
        }

        return null;
    }

    private (Admission? Admission, GatewayError? Error) FailOpen(AdmissionRequest request)
    {
        var bound = Bound(request, request.Model, request.MaxTokens);
        var amount = request.FixedAmount ?? bound.Cost(request.Price);
        if (_failOpen is null || !_failOpen.TryHold(amount))
        {
            return (null, LedgerUnavailable);
        }

        _events.Raise("ledger.fail_open", null, request.HoldId,
            $"The budget ledger is unreachable: request admitted against this instance's fail-open allowance (worst case ${amount}, local cap ${_failOpen.LocalCap} per outage).");
        var tokens = request.FixedTokens ?? bound.Tokens;
        return (new Admission(request.HoldId, request.Lines, [], amount, tokens, request.Model, request.Price, request.MaxTokens, FailOpenAllowance.Marker, held: false) { FailOpen = _failOpen, InputTokens = bound.InputTokens }, null);
    }

    private async ValueTask<(Admission? Admission, GatewayError? Error)> AdmitCoreAsync(AdmissionRequest request, CancellationToken cancellationToken)
    {
        var lines = request.Lines;
        var holdLines = new HoldLine[lines.Count];
        for (var i = 0; i < lines.Count; i++)
        {
            holdLines[i] = lines[i].ToHoldLine();
        }

        // The caller's own estimate: refuse early when less than that remains (before any hold is taken).
        if (request.Hint is { } hint && lines.Count > 0)
        {
            var before = await _ledger.ReadAsync(CountersOf(holdLines), cancellationToken).ConfigureAwait(false);
            var standing = Standing(lines, Whole(lines, before), Money.Zero, Money.Zero);
            if (standing.HasUsdCap && standing.Remaining < hint)
            {
                return (null, BudgetRefusals.InsufficientForHint(standing, hint, _time.GetUtcNow()));
            }
        }

        var model = request.Model;
        var price = request.Price;
        var maxTokens = request.MaxTokens;
        var shape = request.Shape;
        var counted = false;
        string? degraded = null;
        var loweredTokens = false;
        var swappedModel = false;
        var expires = _time.GetUtcNow().Add(request.HoldTtl);
        while (true)
        {
            var bound = Bound(shape, request, model, maxTokens);
            if (RefuseUnbounded(lines, bound) is { } unbounded)
            {
                return (null, unbounded);
            }

            var amount = request.FixedAmount ?? bound.Cost(price);
            var tokens = request.FixedTokens ?? bound.Tokens;
            if (request.Reservation is { } reservation)
            {
                return await DrawAsync(request, reservation, amount, tokens, bound.InputTokens, expires, cancellationToken).ConfigureAwait(false);
            }

            if (lines.Count == 0)
            {
                return (new Admission(request.HoldId, lines, [], amount, tokens, model, price, maxTokens, degraded, held: false) { InputTokens = bound.InputTokens }, null);
            }

            var outcome = await Telemetry.LedgerTiming.ReserveAsync(_ledger, new HoldRequest(request.HoldId, holdLines, amount, tokens, expires), cancellationToken).ConfigureAwait(false);
            if (outcome.Granted)
            {
                return (new Admission(request.HoldId, lines, Whole(lines, outcome.States), amount, tokens, model, price, maxTokens, degraded, held: true) { InputTokens = bound.InputTokens }, null);
            }

            // The byte bound does not fit: count an OpenAI-family model's messages exactly, once, before degrading.
            if (!counted && shape is not null && !request.ExactCountBody.IsEmpty && model.Upstream.SpeaksOpenAi
                && Tokenizers.ExactInputTokens.Knows(model.Model.UpstreamModel))
            {
                counted = true;
                if (Validation.RequestBody.Parse(request.ExactCountBody.Span).Json is { } body
                    && Tokenizers.ExactInputTokens.Tighten(shape, body, model.Model.UpstreamModel) is { } tighter)
                {
                    shape = tighter;
                    continue;
                }
            }

            var denied = lines[outcome.DeniedLine];
            var state = lines[outcome.DeniedLine].Whole(outcome.States[outcome.DeniedLine]);
            var degrade = request.AllowDegrade ? denied.Budget.Degrade : null;

            // Degrade step 1: lower max_tokens so the worst case fits what is left, never below the floor.
            if (degrade?.MinMaxTokens is { } floor && !loweredTokens && denied.Budget.Mode == AccountingMode.Reserve)
            {
                loweredTokens = true;
                var fits = FittingMaxTokens(denied.Budget, state, price, shape, request, model, maxTokens - 1);
                if (fits >= floor)
                {
                    maxTokens = (int)fits;
                    degraded = "max_tokens=" + maxTokens.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    continue;
                }
            }

            // Degrade step 2: serve the configured cheaper model instead.
            if (degrade?.FallbackModel is { } fallbackAlias && !swappedModel
                && request.State.Models.TryGetValue(fallbackAlias, out var fallback) && fallback.Model.Kind == ModelKind.Chat
                && (fallback.Model.Price is not null || fallback.Model.Free))
            {
                swappedModel = true;
                model = fallback;

                // An exact count holds for its own tokeniser only: the fallback starts again from the byte bound.
                shape = request.Shape;
                counted = false;
                price = fallback.Model.Price ?? ModelPrice.Free;
                maxTokens = Math.Min(maxTokens, fallback.Model.MaxOutputTokens);
                degraded = "model=" + fallbackAlias;
                loweredTokens = false;
                continue;
            }

            return (null, BudgetRefusals.Denied(denied, state, outcome.Reason, amount, tokens, _time.GetUtcNow()));
        }
    }

    /// <summary>
    /// Holds the worst case out of the reservation's remainder (the money is already held on the budgets, so no other
    /// traffic can take it): granted, or refused with a 402 that says what remains, or a 404 for an id this key does not own.
    /// </summary>
    private async ValueTask<(Admission? Admission, GatewayError? Error)> DrawAsync(AdmissionRequest request, ReservationDraw reservation, Money amount, long tokens, long inputTokens, DateTimeOffset expires, CancellationToken cancellationToken)
    {
        if (_reservations is null)
        {
            return (null, ReservationRequests.NotFound(reservation.Id));
        }

        // A reservation holds on the lines of the key's path (organisation, team, key, task, global, and every budget
        // narrowed to a model, whichever model the draws use). A draw's settlement charges those lines only, so a request
        // that is also under an end-user or tag budget cannot draw: that budget would never see the spend.
        foreach (var line in request.Lines)
        {
            if (line.EndUser is not null || line.Budget.Scope.Kind is ScopeKind.EndUser or ScopeKind.Tag)
            {
                return (null, new GatewayError(GatewayErrorCode.InvalidReservation,
                    $"This request is also under budget '{line.Budget.Id}' ({line.ScopeText}), which a reservation does not hold on; send it without {BudgetRequestHeaders.ReservationHeader}.",
                    BudgetRequestHeaders.ReservationHeader));
            }
        }

        var outcome = await _reservations.DrawAsync(
            new DrawRequest(request.HoldId, reservation.Id, reservation.KeyId, amount, tokens, _time.GetUtcNow(), expires), cancellationToken).ConfigureAwait(false);
        switch (outcome.Status)
        {
            case ReservationStatus.Done:
                return (new Admission(request.HoldId, request.Lines, [], amount, tokens, request.Model, request.Price, request.MaxTokens, null, held: true)
                {
                    InputTokens = inputTokens,
                    ReservationRemaining = outcome.Remaining,
                }, null);

            case ReservationStatus.Exhausted:
                _events.Raise("reservation.exhausted", "reservation:" + reservation.Id, request.HoldId,
                    $"A request's worst case ${amount} did not fit what remains of reservation {reservation.Id} (${outcome.Remaining}).",
                    dedupeKey: "reservation.exhausted:" + reservation.Id);
                return (null, new GatewayError(GatewayErrorCode.ReservationExhausted,
                    $"This request may cost up to ${amount}, and reservation {reservation.Id} has ${outcome.Remaining} left. Lower max_tokens or reserve more.",
                    BudgetRequestHeaders.ReservationHeader));

            case ReservationStatus.NotLive:
                return (null, new GatewayError(GatewayErrorCode.InvalidReservation,
                    $"Reservation {reservation.Id} was released or has expired; reserve again.", BudgetRequestHeaders.ReservationHeader));

            default:
                return (null, ReservationRequests.NotFound(reservation.Id));
        }
    }

    /// <summary>The tightest USD window, after a hold of <paramref name="held"/> was replaced by a charge of <paramref name="charged"/>.</summary>
    public static BudgetStanding Standing(IReadOnlyList<PathLine> lines, IReadOnlyList<CounterState> states, Money held, Money charged)
    {
        var best = BudgetStanding.None;
        for (var i = 0; i < lines.Count && i < states.Count; i++)
        {
            var budget = lines[i].Budget;
            if (budget.CapUsd is not { } cap)
            {
                continue;
            }

            var state = states[i];
            var releasedHold = budget.Mode == AccountingMode.Reserve ? held : Money.Zero;
            var remaining = cap - state.Spent - charged - (state.Held - releasedHold);
            if (remaining < Money.Zero)
            {
                remaining = Money.Zero;
            }

            if (!best.HasUsdCap || remaining < best.Remaining)
            {
                best = new BudgetStanding(true, remaining, cap, lines[i].ScopeText, WindowName(budget.Window), lines[i].Window.ResetsAt);
            }
        }

        return best;
    }

    public static string WindowName(BudgetWindowKind window) => BudgetWindows.Name(window);

    private static long FittingMaxTokens(BudgetDefinition budget, CounterState state, ModelPrice price, RequestShape? requestShape, AdmissionRequest request, ResolvedModel model, long ceiling)
    {
        if (requestShape is { } shape)
        {
            // n choices, tool passes and tiers all scale with the limit: search the limit whose whole worst case fits.
            var money = budget.CapUsd is { } usdCap ? usdCap - state.Spent - state.Held : new Money(long.MaxValue);
            var room = budget.CapTokens is { } tokenCap2 ? tokenCap2 - state.SpentTokens - state.HeldTokens : long.MaxValue;
            return WorstCases.MaxTokensWithin(shape, model.Model.UpstreamModel, model.Upstream.Kind == ProviderKind.Anthropic, model.Model.ContextWindow, price, money, room, ceiling);
        }

        var input = request.InputTokenBound;
        var fits = ceiling;
        if (budget.CapUsd is { } cap)
        {
            fits = Math.Min(fits, price.MaxOutputTokensWithin(cap - state.Spent - state.Held, input, ceiling));
        }

        if (budget.CapTokens is { } tokenCap)
        {
            fits = Math.Min(fits, tokenCap - state.SpentTokens - state.HeldTokens - input);
        }

        return fits;
    }

    private static CounterKey[] CountersOf(HoldLine[] lines)
    {
        var counters = new CounterKey[lines.Length];
        for (var i = 0; i < lines.Length; i++)
        {
            counters[i] = lines[i].Counter;
        }

        return counters;
    }
}
