using System.Collections.Concurrent;

namespace Purser.Gateway.Routing;

/// <summary>
/// Which route targets failed recently. A failed target cools down for its route's cooldown: later requests try it
/// after the healthy targets instead of first, so they do not each pay a failed attempt to learn it is down. Kept per
/// process: a cooldown is a latency optimisation, not an accounting fact, so instances need not agree on it.
/// </summary>
internal sealed class RouteHealth
{
    private readonly ConcurrentDictionary<string, long> _coolingUntil = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public RouteHealth(TimeProvider time) => _time = time;

    public bool IsCooling(string target) =>
        _coolingUntil.TryGetValue(target, out var until) && _time.GetUtcNow().ToUnixTimeMilliseconds() < until;

    public void Failed(string target, int cooldownSeconds) =>
        _coolingUntil[target] = _time.GetUtcNow().ToUnixTimeMilliseconds() + (cooldownSeconds * 1000L);

    public void Succeeded(string target) => _coolingUntil.TryRemove(target, out _);
}
