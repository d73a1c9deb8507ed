using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using Purser.Events;
using Purser.Gateway.Errors;
using Purser.Gateway.Logging;
using Purser.Gateway.Telemetry;
using Purser.Pricing;

namespace Purser.Gateway.Budgets;

/// <summary>
/// Records what the budgets decided — blocks, degrades, alert thresholds crossed — as durable events, off the request
/// path: requests enqueue, one background loop writes. A threshold fires once per budget window, however many
/// requests or instances cross it together (the store's dedupe key decides). The loop is a hosted service: started with
/// the host (events raised before are queued), stopped after the server by writing what is still queued; a write that
/// fails is logged and the loop goes on with the next event.
/// </summary>
internal sealed class BudgetEvents : IHostedService, IAsyncDisposable
{
    private readonly IEventStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<BudgetEvents> _logger;
    private readonly Channel<(string? DedupeKey, GatewayEvent Event)> _queue = Channel.CreateUnbounded<(string?, GatewayEvent)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, byte> _firedHere = new(StringComparer.Ordinal);

    // The UTC minute (unix minutes) of the last block event queued per budget: one entry per budget, however long it runs.
    private readonly ConcurrentDictionary<string, long> _lastBlockedMinute = new(StringComparer.Ordinal);
    private Task? _writer;

    public BudgetEvents(IEventStore store, TimeProvider time, ILogger<BudgetEvents> logger)
    {
        _store = store;
        _time = time;
        _logger = logger;
    }

    /// <summary>Starts the one writer loop.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _writer ??= WriteLoopAsync();
        return Task.CompletedTask;
    }

    /// <summary>Accepts no more events and writes what is queued, within the host's shutdown time.</summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        return _writer is { } writer ? writer.WaitAsync(cancellationToken) : Task.CompletedTask;
    }

    /// <summary>
    /// Counts every block (metrics; each refused request also has its usage record) but records the event for the first
    /// block of each budget in each UTC minute only: a client hammering a key at its cap made one event row per request
    /// (most of what a refused flood wrote to disk, and one webhook call each). The store's dedupe key makes it one per
    /// minute across instances; the last minute seen per budget keeps this instance from even queueing the rest.
    /// </summary>
    public void Blocked(in CallSubject call, in GatewayError error)
    {
        var budget = error.Budget;
        GatewayMetrics.Blocked(call, budget?.Scope);
        var subject = budget?.BudgetId ?? budget?.Scope ?? "key:" + call.KeyId;
        var minute = _time.GetUtcNow().ToUnixTimeMilliseconds() / 60_000;
        if (_lastBlockedMinute.TryGetValue(subject, out var last) && last >= minute)
        {
            return;
        }

        _lastBlockedMinute[subject] = minute;
        Enqueue(string.Create(CultureInfo.InvariantCulture, $"blocked:{subject}:{minute}"), "budget.blocked", budget?.Scope, budget?.BudgetId, null, call.RequestId, error.Message);
    }

    /// <summary>
    /// A request refused by a rate limit (or a budget's throttle): counted every time, recorded as a
    /// <c>rate_limit.exceeded</c> event once per scope per UTC minute (the store's dedupe key across instances).
    /// </summary>
    public void RateLimited(in CallSubject call, in GatewayError error, string scope, string limitId)
    {
        GatewayMetrics.RateLimited(call, ErrorTable.CodeOf(error), scope);
        OncePerMinute("rate_limited:" + scope, "rate_limit.exceeded", scope, null, call.RequestId, error.Message + " (limit " + limitId + ")");
    }

    /// <summary>A request on a soft budget past its cap was throttled: a <c>budget.throttled</c> event once per budget per minute.</summary>
    public void Throttled(in CallSubject call, string budgetId, string scope, int rpm) =>
        OncePerMinute("throttled:" + budgetId, "budget.throttled", scope, budgetId, call.RequestId,
            string.Create(CultureInfo.InvariantCulture, $"Budget '{budgetId}' is past its cap: requests on it are throttled to {rpm} per minute."));

    private void OncePerMinute(string subject, string type, string? scope, string? budgetId, string requestId, string message)
    {
        var minute = _time.GetUtcNow().ToUnixTimeMilliseconds() / 60_000;
        if (_lastBlockedMinute.TryGetValue(subject, out var last) && last >= minute)
        {
            return;
        }

        _lastBlockedMinute[subject] = minute;
        Enqueue(string.Create(CultureInfo.InvariantCulture, $"{subject}:{minute}"), type, scope, budgetId, null, requestId, message);
    }

    public void Degraded(in CallSubject call, string how)
    {
        GatewayMetrics.Degraded(call, how);
        Enqueue(null, "budget.degraded", "key:" + call.KeyId, null, null, call.RequestId, $"Request for '{call.ModelAlias}' degraded to fit its budget: {how}.");
    }

    /// <summary>An ensemble's guardrail shrank, degraded or refused it, or its judge was skipped.</summary>
    public void Ensemble(in CallSubject call, string reason) =>
        Enqueue(null, "ensemble.degraded", "key:" + call.KeyId, null, null, call.RequestId, $"Ensemble '{call.ModelAlias}': {reason}.");

    /// <summary>Checks every USD cap on the path for thresholds crossed by this request's charge.</summary>
    public void AfterSettle(in CallSubject call, Admission admission, Money cost)
    {
        for (var i = 0; i < admission.Lines.Count && i < admission.States.Count; i++)
        {
            var line = admission.Lines[i];
            if (line.Budget.CapUsd is not { NanoUsd: > 0 } cap)
            {
                continue;
            }

            var spent = admission.States[i].Spent + cost;
            foreach (var threshold in line.Budget.AlertThresholds)
            {
                if ((Int128)spent.NanoUsd * 100 < (Int128)cap.NanoUsd * threshold)
                {
                    break;
                }

                var key = string.Create(CultureInfo.InvariantCulture, $"threshold:{line.CounterId}:{line.Window.Key}:{threshold}");
                if (_firedHere.TryAdd(key, 0))
                {
                    Enqueue(key, "budget.threshold", line.ScopeText, line.CounterId, line.Window.Key, call.RequestId,
                        $"Budget '{line.CounterId}' reached {threshold}% of its {BudgetAdmission.WindowName(line.Budget.Window)} cap of ${cap} (spent ${spent}).");
                }
            }
        }
    }

    /// <summary>Any other feature's event (bedtime trips and wakes, …), written by the same loop; a dedupe key makes it once-only.</summary>
    public void Raise(string type, string? scope, string? requestId, string message, string? dedupeKey = null) =>
        Enqueue(dedupeKey, type, scope, null, null, requestId, message);

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        if (_writer is { } writer)
        {
            await writer.ConfigureAwait(false);
        }
    }

    private void Enqueue(string? dedupeKey, string type, string? scope, string? budgetId, string? window, string? requestId, string message) =>
        _queue.Writer.TryWrite((dedupeKey, new GatewayEvent("evt_" + Guid.NewGuid().ToString("N"), _time.GetUtcNow(), type, scope, budgetId, window, requestId, message, null)));

    private async Task WriteLoopAsync()
    {
        // Off the caller's thread from the first event on: StartAsync returns at once.
        await Task.Yield();
        await foreach (var (dedupeKey, e) in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                if (dedupeKey is null)
                {
                    await _store.AppendAsync(e, CancellationToken.None).ConfigureAwait(false);
                }
                else
                {
                    await _store.TryAppendOnceAsync(dedupeKey, e, CancellationToken.None).ConfigureAwait(false);
                }
            }
#pragma warning disable CA1031 // Any failure (a store's own timeout included) is logged; the loop serves the next event.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.EventWriteFailed(_logger, e.Type, ex);
            }
        }
    }
}
