using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using Purser.Configuration;

namespace Purser.Keys;

/// <summary>
/// The configured virtual keys, indexed by hash so that authenticating a request is one SHA-256 and one
/// dictionary probe. Immutable: a config reload builds a new ring.
/// </summary>
public sealed class KeyRing
{
    private readonly FrozenDictionary<string, VirtualKey> byHash;

    /// <exception cref="ArgumentException">Two keys share a hash or a hash is malformed; config validation rules both out.</exception>
    public KeyRing(IEnumerable<KeyConfig> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var map = new Dictionary<string, VirtualKey>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (!KeyHashFormat.IsValid(key.Hash))
            {
                throw new ArgumentException($"Key '{key.Id}' has a malformed hash.", nameof(keys));
            }

            var allowed = key.AllowedModels.Count == 0 ? null : key.AllowedModels.ToFrozenSet(StringComparer.Ordinal);
            if (!map.TryAdd(key.Hash, new VirtualKey(key.Id, key.Hash, allowed, key.ExpiresAt)))
            {
                throw new ArgumentException($"Key '{key.Id}' has the same hash as key '{map[key.Hash].Id}'.", nameof(keys));
            }
        }

        byHash = map.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public int Count => byHash.Count;

    /// <summary>Finds the key whose secret is <paramref name="secret"/>. Expiry and model checks are the caller's.</summary>
    public bool TryFind(ReadOnlySpan<char> secret, [NotNullWhen(true)] out VirtualKey? key)
    {
        if (secret.IsEmpty)
        {
            key = null;
            return false;
        }

        return byHash.TryGetValue(KeyHasher.Hash(secret), out key);
    }
}
