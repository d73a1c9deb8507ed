using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Budgets;
using Purser.Budgets.Reservations;
using Purser.Gateway.Auth;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Validation;
using Purser.Gateway.Wire;
using Purser.Keys;
using Purser.Pricing;

namespace Purser.Gateway.Endpoints;

/// <summary>
/// <c>/v1/budget/reservations</c> with the caller's virtual key: POST reserves money on the key's budget path (or out
/// of a parent reservation), GET shows one with its children, DELETE gives back its unspent remainder. Another key's
/// reservation reads as unknown (404).
/// </summary>
internal static class ReservationsEndpoint
{
    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapPost("/budget/reservations", CreateAsync);
        v1.MapGet("/budget/reservations/{id}", GetAsync);
        v1.MapDelete("/budget/reservations/{id}", ReleaseAsync);
    }

    private static async Task CreateAsync(HttpContext context, ConfigMonitor config, BudgetAdmission budgets, IReservationLedger ledger, BudgetEvents events, TimeProvider time)
    {
        var state = config.Current;
        if (CallerAuthenticator.Authenticate(context.Request, state, time, out var key) is { } unauthenticated)
        {
            await ErrorWriter.WriteAsync(context, unauthenticated, ApiFormat.OpenAI).ConfigureAwait(false);
            return;
        }

        var (raw, readError) = await RequestBody.ReadAsync(context.Request, state.Config.Server.MaxBodyBytes, context.RequestAborted).ConfigureAwait(false);
        var body = default(ReservationRequests.Body);
        var headers = default(BudgetRequestHeaders);
        var error = readError ?? ReservationRequests.Parse(raw.Json, out body) ?? BudgetRequestHeaders.Parse(context.Request.Headers, out headers);
        if (error is { } bad)
        {
            await ErrorWriter.WriteAsync(context, bad, ApiFormat.OpenAI).ConfigureAwait(false);
            return;
        }

        // A reservation never creates a task budget: the task named by x-budget-scope must exist already.
        var (lines, pathError) = await budgets.PathAsync(state, key!, headers with { Ceiling = null }, null, context.RequestAborted).ConfigureAwait(false);
        if (pathError is { } badPath)
        {
            await ErrorWriter.WriteAsync(context, badPath, ApiFormat.OpenAI).ConfigureAwait(false);
            return;
        }

        var holdLines = new HoldLine[lines.Count];
        var path = new string[lines.Count];
        for (var i = 0; i < lines.Count; i++)
        {
            holdLines[i] = lines[i].ToHoldLine();
            path[i] = lines[i].Budget.Scope + "@" + lines[i].Window.Key;

            // Draws settle on the reservation's lines only, so it never holds on end-user or tag budgets (those are the
            // draws' own; a request under one is refused a draw).
            if (lines[i].EndUser is not null || lines[i].Budget.Scope.Kind is ScopeKind.EndUser or ScopeKind.Tag)
            {
                await ErrorWriter.WriteAsync(context, new GatewayError(GatewayErrorCode.InvalidReservation,
                    $"The {lines[i].ScopeText} budget is an end-user or tag budget, on which a reservation cannot hold: reserve without x-budget-user and x-budget-tags.", "amount_usd"),
                    ApiFormat.OpenAI).ConfigureAwait(false);
                return;
            }

            // A reservation holds money, not tokens: under a hard token cap its draws could pass the cap unseen.
            if (holdLines[i] is { CapTokens: not null, Mode: AccountingMode.Reserve, Enforcement: Enforcement.Hard })
            {
                await ErrorWriter.WriteAsync(context, new GatewayError(GatewayErrorCode.InvalidReservation,
                    $"The {lines[i].Budget.Scope} budget caps tokens, and a reservation holds money only: reserve on a path without a hard token cap.", "amount_usd"),
                    ApiFormat.OpenAI).ConfigureAwait(false);
                return;
            }

            // A rolling window counts spend in buckets that age out; a long-lived reservation hold would sit in one bucket
            // and leave the window's sum, so a reservation is refused on such a path rather than risk passing its cap.
            if (BudgetWindows.IsRolling(lines[i].Budget.Window) && holdLines[i] is { Mode: AccountingMode.Reserve, Enforcement: Enforcement.Hard })
            {
                await ErrorWriter.WriteAsync(context, new GatewayError(GatewayErrorCode.InvalidReservation,
                    $"The {lines[i].Budget.Scope} budget has a rolling window, on which a reservation cannot hold: reserve on a path without a hard rolling-window budget.", "amount_usd"),
                    ApiFormat.OpenAI).ConfigureAwait(false);
                return;
            }
        }

        var now = time.GetUtcNow();
        var request = new ReservationRequest(ReservationRequests.NewId(), key!.Id, body.Label, body.Parent, body.Amount, holdLines,
            string.Join(',', path), now, now.AddSeconds(body.TtlSeconds), ReservationLimits.Default);
        ReservationOutcome outcome;
        try
        {
            outcome = await ledger.CreateReservationAsync(request, context.RequestAborted).ConfigureAwait(false);
        }
        catch (LedgerUnavailableException)
        {
            await ErrorWriter.WriteAsync(context, Unavailable, ApiFormat.OpenAI).ConfigureAwait(false);
            return;
        }

        if (Refusal(outcome, body, lines) is { } refused)
        {
            await ErrorWriter.WriteAsync(context, refused, ApiFormat.OpenAI).ConfigureAwait(false);
            return;
        }

        var view = outcome.Reservation!;
        events.Raise("reservation.created", "key:" + key.Id, null,
            $"Reservation {view.Id} ({view.Label ?? "no label"}) holds ${view.Amount} {(view.ParentId is { } p ? "out of " + p : "on " + view.Path)} until {Time(view.ExpiresAt)}.");
        await WriteAsync(context, ReservationJson.Write(view), StatusCodes.Status201Created).ConfigureAwait(false);
    }

    private static async Task GetAsync(HttpContext context, string id, ConfigMonitor config, IReservationLedger ledger, TimeProvider time)
    {
        if (Authenticate(context, config, time, out var key) is { } unauthenticated)
        {
            await ErrorWriter.WriteAsync(context, unauthenticated, ApiFormat.OpenAI).ConfigureAwait(false);
            return;
        }

        ReservationView? view;
        try
        {
            view = ReservationRequests.IsValidId(id) ? await ledger.GetReservationAsync(id, key!.Id, context.RequestAborted).ConfigureAwait(false) : null;
        }
        catch (LedgerUnavailableException)
        {
            await ErrorWriter.WriteAsync(context, Unavailable, ApiFormat.OpenAI).ConfigureAwait(false);
            return;
        }

        if (view is null)
        {
            await ErrorWriter.WriteAsync(context, ReservationRequests.NotFound(id), ApiFormat.OpenAI).ConfigureAwait(false);
            return;
        }

        context.Response.Headers[ReservationRequests.RemainingHeader] = view.Remaining.ToString();
        await WriteAsync(context, ReservationJson.Write(view), StatusCodes.Status200OK).ConfigureAwait(false);
    }

    private static async Task ReleaseAsync(HttpContext context, string id, ConfigMonitor config, IReservationLedger ledger, BudgetEvents events, TimeProvider time)
    {
        if (Authenticate(context, config, time, out var key) is { } unauthenticated)
        {
            await ErrorWriter.WriteAsync(context, unauthenticated, ApiFormat.OpenAI).ConfigureAwait(false);
            return;
        }

        ReleaseOutcome outcome;
        ReservationView? view;
        try
        {
            // Never cancelled once started: a release must land even when the caller has gone.
            outcome = ReservationRequests.IsValidId(id)
                ? await ledger.ReleaseReservationAsync(id, key!.Id, time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false)
                : new ReleaseOutcome(ReservationStatus.Unknown, []);
            view = outcome.Status == ReservationStatus.Unknown ? null : await ledger.GetReservationAsync(id, key!.Id, CancellationToken.None).ConfigureAwait(false);
        }
        catch (LedgerUnavailableException)
        {
            await ErrorWriter.WriteAsync(context, Unavailable, ApiFormat.OpenAI).ConfigureAwait(false);
            return;
        }

        if (outcome.Status == ReservationStatus.Unknown)
        {
            await ErrorWriter.WriteAsync(context, ReservationRequests.NotFound(id), ApiFormat.OpenAI).ConfigureAwait(false);
            return;
        }

        var released = new JsonArray();
        foreach (var ended in outcome.Ended)
        {
            Released(events, ended, "released");
            released.Add((JsonNode?)new JsonObject { ["id"] = ended.Id, ["spent_usd"] = ended.Spent.ToString(), ["returned_usd"] = ended.Remaining.ToString() });
        }

        var json = ReservationJson.Write(view!);
        json["released"] = released;
        await WriteAsync(context, json, StatusCodes.Status200OK).ConfigureAwait(false);
    }

    /// <summary>The event for a reservation that ended, by a release or by expiry.</summary>
    public static void Released(BudgetEvents events, ReservationView ended, string how) =>
        events.Raise("reservation.released", "key:" + ended.KeyId, null,
            $"Reservation {ended.Id} {how}: spent ${ended.Spent} of ${ended.Amount}, ${ended.Remaining} given back.",
            dedupeKey: "reservation.released:" + ended.Id);

    private static readonly GatewayError Unavailable =
        new(GatewayErrorCode.LedgerUnavailable, "The budget ledger is unavailable, so nothing was reserved; retry shortly.") { RetryAfterSeconds = 1 };

    private static GatewayError? Refusal(ReservationOutcome outcome, ReservationRequests.Body body, List<PathLine> lines)
    {
        switch (outcome.Status)
        {
            case ReservationStatus.Done:
                return null;
            case ReservationStatus.DoesNotFit when outcome.Hold is { } hold && hold.DeniedLine >= 0:
                var denied = lines[hold.DeniedLine].Budget;
                var state = hold.States[hold.DeniedLine];
                var left = denied.CapUsd is { } cap ? Money.Max(Money.Zero, cap - state.Spent - state.Held) : Money.Zero;
                return new GatewayError(GatewayErrorCode.ReservationDoesNotFit,
                    $"${body.Amount} does not fit the {denied.Scope} budget: ${left} remains. Nothing was reserved; plan for less.", "amount_usd");
            case ReservationStatus.DoesNotFit:
                return new GatewayError(GatewayErrorCode.ReservationDoesNotFit,
                    $"${body.Amount} does not fit reservation {body.Parent}: ${outcome.Available} remains. Nothing was reserved; plan for less.", "amount_usd");
            case ReservationStatus.TooLarge:
                return new GatewayError(GatewayErrorCode.InvalidReservation,
                    $"A reservation tree is at most {ReservationLimits.Default.MaxDepth} levels deep and {ReservationLimits.Default.MaxNodes} reservations large.", "parent");
            case ReservationStatus.NotLive:
                return new GatewayError(GatewayErrorCode.InvalidReservation, $"Reservation {body.Parent} was released or has expired.", "parent");
            default:
                return ReservationRequests.NotFound(body.Parent ?? "");
        }
    }

    private static GatewayError? Authenticate(HttpContext context, ConfigMonitor config, TimeProvider time, out VirtualKey? key) =>
        CallerAuthenticator.Authenticate(context.Request, config.Current, time, out key);

    private static string Time(DateTimeOffset instant) => ReservationJson.Time(instant);

    private static async Task WriteAsync(HttpContext context, JsonObject body, int status)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, body, GatewayJsonContext.Default.JsonObject, context.RequestAborted).ConfigureAwait(false);
    }
}
