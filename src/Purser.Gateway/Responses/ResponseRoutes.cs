using System.Collections.Concurrent;
using Purser.Budgets;
using Purser.Gateway.Logging;
using Purser.Responses;

namespace Purser.Gateway.Responses;

/// <summary>
/// The response id → provider memory: the shared store (<see cref="IResponseRouteStore"/>, so another instance or a
/// restart still knows where a response lives) behind a bounded in-process cache, so a retrieval on the instance that
/// relayed the response costs no database read. A route is written before the caller can use the id: before a whole
/// response's body is sent, and while a stream runs (from its <c>response.created</c>). A store that cannot be written
/// is logged; this instance still serves the response from its cache.
/// </summary>
internal sealed class ResponseRoutes
{
    private const int MaxCached = 50_000;

    private readonly IResponseRouteStore _store;
    private readonly ILogger<ResponseRoutes> _logger;
    private readonly ConcurrentDictionary<string, ResponseRoute> _cache = new(StringComparer.Ordinal);

    public ResponseRoutes(IResponseRouteStore store, ILogger<ResponseRoutes> logger)
    {
        _store = store;
        _logger = logger;
    }

    /// <summary>Caches the route at once (synchronously), then writes it to the store.</summary>
    public Task RememberAsync(ResponseRoute route)
    {
        Cache(route);
        return WriteAsync(route.ResponseId, ct => _store.RememberAsync(route, ct));
    }

    /// <summary>Records the size of a stored conversation once its usage is known (a stream's end).</summary>
    public Task RecordConversationAsync(ResponseRoute route)
    {
        Cache(route);
        return route.ConversationTokens is { } tokens
            ? WriteAsync(route.ResponseId, ct => _store.RecordConversationAsync(route.ResponseId, tokens, ct))
            : Task.CompletedTask;
    }

    public async Task<ResponseRoute?> FindAsync(string responseId, CancellationToken ct)
    {
        if (_cache.TryGetValue(responseId, out var cached))
        {
            return cached;
        }

        return await _store.FindAsync(responseId, ct).ConfigureAwait(false);
    }

    /// <summary>Claims a background response's pending hold: true for the one retrieval that settles it.</summary>
    public async Task<bool> TryClaimPendingAsync(ResponseRoute route)
    {
        var claimed = await _store.TryClaimPendingAsync(route.ResponseId, CancellationToken.None).ConfigureAwait(false);
        _cache[route.ResponseId] = route with { PendingHoldId = null };
        return claimed;
    }

    /// <summary>Background responses whose hold is still pending, created at or before <paramref name="createdBefore"/>, oldest first (from the store: every instance's).</summary>
    public Task<IReadOnlyList<ResponseRoute>> PendingAsync(DateTimeOffset createdBefore, int limit, CancellationToken ct) =>
        _store.PendingAsync(createdBefore, limit, ct);

    public async Task ForgetAsync(string responseId)
    {
        _cache.TryRemove(responseId, out _);
        await _store.ForgetAsync(responseId, CancellationToken.None).ConfigureAwait(false);
    }

    private void Cache(ResponseRoute route)
    {
        if (_cache.Count < MaxCached || _cache.ContainsKey(route.ResponseId))
        {
            _cache[route.ResponseId] = route;
        }
    }

    private async Task WriteAsync(string responseId, Func<CancellationToken, Task> write)
    {
        try
        {
            await write(CancellationToken.None).ConfigureAwait(false);
        }
        catch (LedgerUnavailableException ex)
        {
            Log.ResponseRouteNotStored(_logger, responseId, ex.GetType().Name);
        }
    }
}
