using System.Security.Cryptography;

namespace Purser.Gateway.Proxy;

/// <summary>Request ids: "req_" and 24 hex digits, random so that ids from many instances never collide.</summary>
internal static class RequestIds
{
    /// <summary>Where <see cref="Telemetry.RequestLogScope"/> leaves the id it put in the log scope.</summary>
    public static readonly object ItemKey = new();

    /// <summary>The request's id: the one already in its log scope, or a new one.</summary>
    public static string For(HttpContext context) =>
        context.Items.TryGetValue(ItemKey, out var id) && id is string known ? known : New();

    public static string New()
    {
        Span<byte> bytes = stackalloc byte[12];
        RandomNumberGenerator.Fill(bytes);
        return string.Create(28, bytes, static (span, source) =>
        {
            "req_".CopyTo(span);
            Convert.TryToHexStringLower(source, span[4..], out _);
        });
    }
}
