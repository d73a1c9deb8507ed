using System.Collections.Concurrent;
using Purser.Responses;

namespace Purser.Gateway.Responses;

/// <summary>
/// The response id → provider memory: the shared store (<see cref="IResponseRouteStore"/>, so another instance or a
/// restart still knows where a response lives) behind a bounded in-process cache, so a retrieval on the instance that
/// relayed the response costs no database read. A route is written after its response reached the caller, never on
/// the way there.
/// </summary>
internal sealed class ResponseRoutes
{
    private const int MaxCached = 50_000;

    private readonly IResponseRouteStore _store;
    private readonly ConcurrentDictionary<string, ResponseRoute> _cache = new(StringComparer.Ordinal);

    public ResponseRoutes(IResponseRouteStore store) => _store = store;

    public async Task RememberAsync(ResponseRoute route)
    {
        if (_cache.Count < MaxCached)
        {
            _cache[route.ResponseId] = route;
        }

        await _store.RememberAsync(route, CancellationToken.None).ConfigureAwait(false);
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

    public async Task ForgetAsync(string responseId)
    {
        _cache.TryRemove(responseId, out _);
        await _store.ForgetAsync(responseId, CancellationToken.None).ConfigureAwait(false);
    }
}
