namespace Purser.Keys;

/// <summary>The one accepted stored form of a key hash: "sha256:" and 64 lowercase hex digits, as <see cref="KeyHasher"/> writes it.</summary>
public static class KeyHashFormat
{
    private const int HexLength = 64;

    public static bool IsValid(ReadOnlySpan<char> hash)
    {
        if (hash.Length != KeyHasher.Prefix.Length + HexLength || !hash.StartsWith(KeyHasher.Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        // Lowercase only: the key ring compares hashes ordinally, so "ABC" and "abc" would silently be different keys.
        foreach (var c in hash[KeyHasher.Prefix.Length..])
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }
}
