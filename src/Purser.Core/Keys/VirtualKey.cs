using System.Collections.Frozen;

namespace Purser.Keys;

/// <summary>A caller's key as the gateway sees it after lookup: never the secret, only its hash.</summary>
/// <param name="AllowedModels">Aliases the key may call; null means every alias.</param>
/// <param name="Team">The team the key's spend is also charged to; null for none.</param>
public sealed record VirtualKey(string Id, string Hash, FrozenSet<string>? AllowedModels, DateTimeOffset? ExpiresAt, string? Team = null)
{
    /// <summary>The body's user field names the end user (see <see cref="Configuration.KeyConfig.TrustEndUser"/>).</summary>
    public bool TrustEndUser { get; init; }

    /// <summary>The key may send x-budget-tags.</summary>
    public bool TrustTags { get; init; }

    public bool Allows(string modelAlias) => AllowedModels is null || AllowedModels.Contains(modelAlias);

    /// <summary>A key stops working at the instant of <see cref="ExpiresAt"/>, not after it.</summary>
    public bool IsExpired(DateTimeOffset now) => ExpiresAt is { } expiresAt && now >= expiresAt;
}
