using System.Security.Cryptography;

namespace Purser.Gateway.Proxy;

/// <summary>Request ids: "req_" and 24 hex digits, random so that ids from many instances never collide.</summary>
internal static class RequestIds
{
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
