using Microsoft.Extensions.Time.Testing;
using Purser.Configuration;
using Purser.Core.Tests.Configuration;
using Purser.Keys;

namespace Purser.Core.Tests.Keys;

public sealed class KeyRingTests
{
    private const string SecretA = "sk-purser-team-a-0123456789";
    private const string SecretB = "sk-purser-ci-abcdefghij";

    private static readonly DateTimeOffset Expiry = new(2027, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static KeyRing Ring() => new(
    [
        new KeyConfig { Id = "team-a", Hash = KeyHasher.Hash(SecretA), AllowedModels = ["mini", "sonnet"], ExpiresAt = Expiry },
        new KeyConfig { Id = "ci", Hash = KeyHasher.Hash(SecretB) },
    ]);

    [Fact]
    public void Finds_a_key_by_its_secret()
    {
        var ring = Ring();

        Assert.Equal(2, ring.Count);
        Assert.True(ring.TryFind(SecretA, out var key));
        Assert.Equal("team-a", key.Id);
        Assert.Equal(KeyHasher.Hash(SecretA), key.Hash);
        Assert.True(ring.TryFind(SecretB.AsSpan(), out var ci));
        Assert.Equal("ci", ci.Id);
    }

    [Fact]
    public void Does_not_find_a_key_by_its_hash_id_or_a_near_miss()
    {
        var ring = Ring();

        Assert.False(ring.TryFind(KeyHasher.Hash(SecretA), out var byHash));
        Assert.Null(byHash);
        Assert.False(ring.TryFind("team-a", out _));
        Assert.False(ring.TryFind(SecretA + " ", out _));
        Assert.False(ring.TryFind(SecretA.ToUpperInvariant(), out _));
        Assert.False(ring.TryFind(string.Empty, out _));
    }

    [Fact]
    public void A_secret_found_again_from_the_cache_is_the_same_key_and_near_misses_still_fail()
    {
        var ring = Ring();

        Assert.True(ring.TryFind(SecretA, out var first));
        Assert.True(ring.TryFind(SecretA.AsSpan(), out var second));
        Assert.Same(first, second);
        Assert.False(ring.TryFind(SecretA + "x", out _));
        Assert.False(ring.TryFind(SecretA.AsSpan(0, SecretA.Length - 1), out _));
        Assert.False(ring.TryFind(KeyHasher.Hash(SecretA), out _));
    }

    [Fact]
    public void A_new_ring_without_a_key_no_longer_finds_its_cached_secret()
    {
        var before = Ring();
        Assert.True(before.TryFind(SecretB, out _));

        var after = new KeyRing([new KeyConfig { Id = "team-a", Hash = KeyHasher.Hash(SecretA) }]);

        Assert.False(after.TryFind(SecretB, out _));
        Assert.True(before.TryFind(SecretB, out _));
    }

    [Fact]
    public void Expiry_follows_the_time_provider()
    {
        var time = new FakeTimeProvider(Expiry.AddDays(-1));
        Assert.True(Ring().TryFind(SecretA, out var key));

        Assert.False(key.IsExpired(time.GetUtcNow()));
        time.Advance(TimeSpan.FromDays(1) - TimeSpan.FromTicks(1));
        Assert.False(key.IsExpired(time.GetUtcNow()));
        time.Advance(TimeSpan.FromTicks(1));
        Assert.True(key.IsExpired(time.GetUtcNow()));
    }

    [Fact]
    public void Key_without_expiry_never_expires()
    {
        var time = new FakeTimeProvider(DateTimeOffset.MaxValue.AddDays(-1));
        Assert.True(Ring().TryFind(SecretB, out var key));

        Assert.False(key.IsExpired(time.GetUtcNow()));
    }

    [Fact]
    public void Allowed_models_restrict_and_an_empty_list_allows_everything()
    {
        var ring = Ring();
        Assert.True(ring.TryFind(SecretA, out var restricted));
        Assert.True(ring.TryFind(SecretB, out var open));

        Assert.True(restricted.Allows("mini"));
        Assert.True(restricted.Allows("sonnet"));
        Assert.False(restricted.Allows("opus"));
        Assert.False(restricted.Allows("MINI"));
        Assert.Null(open.AllowedModels);
        Assert.True(open.Allows("anything"));
    }

    [Fact]
    public void Secret_in_config_is_hashed_on_load_and_found_in_the_ring()
    {
        var config = ConfigTestHelper.ParseValid("""
            keys:
              - id: from-env
                secret: ${MY_KEY}
            """, new() { ["MY_KEY"] = SecretB });

        var hash = Assert.Single(config.Keys).Hash;
        Assert.Equal(KeyHasher.Hash(SecretB), hash);
        Assert.True(KeyHashFormat.IsValid(hash));

        var ring = new KeyRing(config.Keys);
        Assert.True(ring.TryFind(SecretB, out var key));
        Assert.Equal("from-env", key.Id);
        Assert.False(ring.TryFind("${MY_KEY}", out _));
    }

    [Fact]
    public void Duplicate_or_malformed_hashes_are_programming_errors()
    {
        var hash = KeyHasher.Hash(SecretA);

        Assert.Throws<ArgumentException>(() => new KeyRing([new KeyConfig { Id = "a", Hash = hash }, new KeyConfig { Id = "b", Hash = hash }]));
        Assert.Throws<ArgumentException>(() => new KeyRing([new KeyConfig { Id = "a", Hash = "sha256:ABC" }]));
    }

    [Theory]
    [InlineData("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true)]
    [InlineData("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", false)]
    [InlineData("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", false)]
    [InlineData("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg", false)]
    [InlineData("SHA256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", false)]
    [InlineData("", false)]
    public void Hash_format_is_sha256_and_64_lowercase_hex(string hash, bool valid)
    {
        Assert.Equal(valid, KeyHashFormat.IsValid(hash));
    }
}
