using System.Security.Cryptography;

namespace Purser.Gateway.Wire;

/// <summary>
/// Request ids: "req_" and 24 hex digits — 11 of milliseconds since the Unix epoch, then 13 random. Random enough that
/// ids from many instances never collide; time-ordered so that the usage records' primary-key index (SQLite and
/// PostgreSQL) grows at its end instead of splitting pages at random places: measured, random ids made the background
/// usage writer several times slower once the index outgrew the page cache, and its bursts the gateway's p99.
/// </summary>
internal static class RequestIds
{
    /// <summary>Where <see cref="Telemetry.RequestLogScope"/> leaves the id it put in the log scope.</summary>
    public static readonly object ItemKey = new();

    /// <summary>The request's id: the one already in its log scope, or a new one.</summary>
    public static string For(HttpContext context, TimeProvider time) =>
        context.Items.TryGetValue(ItemKey, out var id) && id is string known ? known : New(time);

    public static string New(TimeProvider time)
    {
        // 44 bits of milliseconds last until the year 2527; 52 random bits make a collision within one millisecond
        // across instances vanishingly unlikely.
        var millis = (ulong)Math.Max(0, time.GetUtcNow().ToUnixTimeMilliseconds()) & ((1UL << 44) - 1);
        Span<byte> random = stackalloc byte[7];
        RandomNumberGenerator.Fill(random);
        var value = (millis << 20) | ((ulong)random[0] << 12) | ((ulong)random[1] << 4) | ((ulong)random[2] >> 4);
        return string.Create(28, (value, random[3], random[4], random[5], random[6]), static (span, parts) =>
        {
            "req_".CopyTo(span);
            parts.value.TryFormat(span.Slice(4, 16), out _, "x16", System.Globalization.CultureInfo.InvariantCulture);
            parts.Item2.TryFormat(span.Slice(20, 2), out _, "x2", System.Globalization.CultureInfo.InvariantCulture);
            parts.Item3.TryFormat(span.Slice(22, 2), out _, "x2", System.Globalization.CultureInfo.InvariantCulture);
            parts.Item4.TryFormat(span.Slice(24, 2), out _, "x2", System.Globalization.CultureInfo.InvariantCulture);
            parts.Item5.TryFormat(span.Slice(26, 2), out _, "x2", System.Globalization.CultureInfo.InvariantCulture);
        });
    }
}
