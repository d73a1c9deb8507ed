using Purser.Admin;
using Purser.Configuration;
using Purser.Core.Tests.Configuration;
using Purser.Keys;

namespace Purser.Core.Tests.Keys;

public sealed class KeyRingStoredKeysTests
{
    private static readonly DateTimeOffset Created = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private static KeyConfig Config(string id, string secret, string? team = null) =>
        new() { Id = id, Hash = KeyHasher.Hash(secret), Team = team };

    private static StoredKey Stored(string id, string secret, string? team = null, DateTimeOffset? revokedAt = null, IReadOnlyList<string>? models = null, DateTimeOffset? expiresAt = null) =>
        new(id, KeyHasher.Hash(secret), team, models ?? [], expiresAt, Created, revokedAt);

    [Fact]
    public void Keys_from_both_sources_are_found_with_their_teams()
    {
        var ring = new KeyRing([Config("cfg", "secret-cfg", "platform")], [Stored("api", "secret-api", "research")]);

        Assert.Equal(2, ring.Count);
        Assert.True(ring.TryFind("secret-cfg", out var fromConfig));
        Assert.Equal(("cfg", "platform"), (fromConfig.Id, fromConfig.Team));
        Assert.True(ring.TryFind("secret-api", out var fromStore));
        Assert.Equal(("api", "research"), (fromStore.Id, fromStore.Team));
    }

    [Fact]
    public void Stored_key_fields_carry_over_to_the_virtual_key()
    {
        var expires = Created.AddDays(10);
        var ring = new KeyRing([], [Stored("api", "s", models: ["mini"], expiresAt: expires)]);

        Assert.True(ring.TryFind("s", out var key));
        Assert.Equal(KeyHasher.Hash("s"), key.Hash);
        Assert.True(key.Allows("mini"));
        Assert.False(key.Allows("big"));
        Assert.Equal(expires, key.ExpiresAt);
        Assert.Null(key.Team);
        Assert.True(key.IsExpired(expires));
    }

    [Fact]
    public void Stored_key_without_models_allows_every_alias()
    {
        var ring = new KeyRing([], [Stored("api", "s")]);

        Assert.True(ring.TryFind("s", out var key));
        Assert.Null(key.AllowedModels);
        Assert.True(key.Allows("anything"));
    }

    [Fact]
    public void Revoked_stored_keys_are_excluded()
    {
        var ring = new KeyRing([], [Stored("live", "s1"), Stored("gone", "s2", revokedAt: Created.AddHours(1))]);

        Assert.Equal(1, ring.Count);
        Assert.True(ring.TryFind("s1", out _));
        Assert.False(ring.TryFind("s2", out _));
    }

    [Fact]
    public void Config_wins_when_a_stored_key_has_the_same_id()
    {
        var ring = new KeyRing([Config("agent", "config-secret", "platform")], [Stored("agent", "stored-secret", "research")]);

        Assert.Equal(1, ring.Count);
        Assert.True(ring.TryFind("config-secret", out var key));
        Assert.Equal("platform", key.Team);
        Assert.False(ring.TryFind("stored-secret", out _));
    }

    [Fact]
    public void Config_wins_when_a_stored_key_has_the_same_hash()
    {
        var ring = new KeyRing([Config("cfg", "shared")], [Stored("api", "shared")]);

        Assert.Equal(1, ring.Count);
        Assert.True(ring.TryFind("shared", out var key));
        Assert.Equal("cfg", key.Id);
    }

    [Fact]
    public void Duplicate_or_malformed_stored_keys_are_programming_errors()
    {
        Assert.Throws<ArgumentException>(() => new KeyRing([], [Stored("a", "s1"), Stored("b", "s1")]));
        Assert.Throws<ArgumentException>(() => new KeyRing([], [Stored("a", "s1"), Stored("a", "s2")]));
        Assert.Throws<ArgumentException>(() => new KeyRing([], [Stored("a", "s1") with { Hash = "sha256:nothex" }]));
    }

    [Fact]
    public void The_config_only_constructor_carries_the_team_from_config()
    {
        var config = ConfigTestHelper.ParseValid($"""
            teams:
              platform: {"{}"}
            keys:
              - id: k
                hash: {KeyHasher.Hash("from-file")}
                team: platform
            """);

        var ring = new KeyRing(config.Keys);

        Assert.True(ring.TryFind("from-file", out var key));
        Assert.Equal("platform", key.Team);
    }
}
