using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using Purser.Admin;
using Purser.Configuration;

namespace Purser.Keys;

/// <summary>
/// The virtual keys from the config file and from the admin store, indexed by hash so that authenticating a request
/// is one SHA-256 and one dictionary probe — and, for a secret this ring already resolved, one probe of a small cache
/// and no hash at all. Immutable: a config reload or an admin change builds a new ring, with an empty cache, so a
/// revoked, removed or changed key stops authenticating at once.
/// </summary>
public sealed class KeyRing
{
    /// <summary>Bounds the cache of resolved secrets; past it, further keys are hashed on every request as before.</summary>
    public const int MaxCachedSecrets = 4096;

    private readonly FrozenDictionary<string, VirtualKey> byHash;

    // Only secrets that resolved to a key of this ring are cached, so failed guesses can neither fill it nor evict real
    // keys, and it never holds more than the ring's own keys. A probe compares the presented secret with a cached one
    // only when their per-process randomised string hashes collide, which an attacker cannot steer, so it leaks no more
    // timing than the probe by SHA-256 hex does.
    private readonly ConcurrentDictionary<string, VirtualKey> bySecret = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, VirtualKey>.AlternateLookup<ReadOnlySpan<char>> bySecretSpan;
    private int cachedSecrets;

    /// <exception cref="ArgumentException">Two keys share a hash or a hash is malformed; config validation rules both out.</exception>
    public KeyRing(IEnumerable<KeyConfig> keys)
        : this(keys, [])
    {
    }

    /// <summary>
    /// Builds the ring from both sources. Revoked stored keys are left out. The config file wins every clash: a stored
    /// key with the id or the hash of a config key is left out, because the file is what the operator edits by hand
    /// and must not be overridden from the database, and one secret must never authenticate as two keys.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// A hash is malformed, two config keys share a hash, or two stored keys share an id or a hash: config validation
    /// and the store's constraints rule all of these out.
    /// </exception>
    public KeyRing(IEnumerable<KeyConfig> configKeys, IEnumerable<StoredKey> storedKeys)
    {
        ArgumentNullException.ThrowIfNull(configKeys);
        ArgumentNullException.ThrowIfNull(storedKeys);
        var map = new Dictionary<string, VirtualKey>(StringComparer.Ordinal);
        var configIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in configKeys)
        {
            configIds.Add(key.Id);
            Add(map, new VirtualKey(key.Id, key.Hash, Allowed(key.AllowedModels), key.ExpiresAt, key.Team) { TrustEndUser = key.TrustEndUser, TrustTags = key.TrustTags }, nameof(configKeys));
        }

        var configHashes = map.Keys.ToHashSet(StringComparer.Ordinal);
        var storedIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in storedKeys)
        {
            if (!storedIds.Add(key.Id))
            {
                throw new ArgumentException($"Stored key id '{key.Id}' appears twice.", nameof(storedKeys));
            }

            if (key.IsRevoked || configIds.Contains(key.Id) || configHashes.Contains(key.Hash))
            {
                continue;
            }

            Add(map, new VirtualKey(key.Id, key.Hash, Allowed(key.AllowedModels), key.ExpiresAt, key.Team) { TrustEndUser = key.TrustEndUser, TrustTags = key.TrustTags }, nameof(storedKeys));
        }

        byHash = map.ToFrozenDictionary(StringComparer.Ordinal);
        bySecretSpan = bySecret.GetAlternateLookup<ReadOnlySpan<char>>();
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

        if (bySecretSpan.TryGetValue(secret, out key))
        {
            return true;
        }

        if (!byHash.TryGetValue(KeyHasher.Hash(secret), out key))
        {
            return false;
        }

        if (Volatile.Read(ref cachedSecrets) < MaxCachedSecrets && bySecret.TryAdd(secret.ToString(), key))
        {
            Interlocked.Increment(ref cachedSecrets);
        }

        return true;
    }

    private static FrozenSet<string>? Allowed(IReadOnlyList<string> models) =>
        models.Count == 0 ? null : models.ToFrozenSet(StringComparer.Ordinal);

    private static void Add(Dictionary<string, VirtualKey> map, VirtualKey key, string parameter)
    {
        if (!KeyHashFormat.IsValid(key.Hash))
        {
            throw new ArgumentException($"Key '{key.Id}' has a malformed hash.", parameter);
        }

        if (!map.TryAdd(key.Hash, key))
        {
            throw new ArgumentException($"Key '{key.Id}' has the same hash as key '{map[key.Hash].Id}'.", parameter);
        }
    }
}
