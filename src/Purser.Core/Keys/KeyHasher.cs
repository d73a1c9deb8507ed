using System.Security.Cryptography;
using System.Text;

namespace Purser.Keys;

/// <summary>
/// Virtual keys are stored only as SHA-256 hashes ("sha256:&lt;hex&gt;"). Keys are long random secrets, so an unsalted
/// fast hash is enough and lets a lookup be one dictionary probe on the hot path.
/// </summary>
public static class KeyHasher
{
    public const string Prefix = "sha256:";

    public static string Hash(ReadOnlySpan<char> secret)
    {
        Span<byte> utf8 = stackalloc byte[512];
        var n = Encoding.UTF8.GetByteCount(secret);
        var buffer = n <= utf8.Length ? utf8[..n] : new byte[n];
        Encoding.UTF8.GetBytes(secret, buffer);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(buffer, hash);
        return Prefix + Convert.ToHexStringLower(hash);
    }

    /// <summary>A new secret for a virtual key: "sk-purser-" and 32 random bytes in URL-safe base64.</summary>
    public static string NewSecret()
    {
        Span<byte> bytes = stackalloc byte[32];
        RandomNumberGenerator.Fill(bytes);
        return "sk-purser-" + Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
