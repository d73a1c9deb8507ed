namespace Purser.Admin;

/// <summary>
/// A virtual key created through the admin API and kept in the database, so it survives restarts. Only the hash of
/// the secret is stored. Revoked keys are kept (for audit and usage attribution) but never authenticate.
/// </summary>
/// <param name="AllowedModels">Aliases the key may call; empty means every alias.</param>
public sealed record StoredKey(
    string Id,
    string Hash,
    string? Team,
    IReadOnlyList<string> AllowedModels,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RevokedAt)
{
    public bool IsRevoked => RevokedAt is not null;

    /// <summary>The body's user field names the end user (see <see cref="Configuration.KeyConfig.TrustEndUser"/>).</summary>
    public bool TrustEndUser { get; init; }

    /// <summary>The key may send x-budget-tags.</summary>
    public bool TrustTags { get; init; }
}
