using Microsoft.Extensions.Time.Testing;
using Purser.Gateway.Proxy;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Tests.Proxy;

public sealed class RequestIdsTests
{
    [Fact]
    public void Ids_are_req_and_24_lowercase_hex_digits_and_never_repeat()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 10_000; i++)
        {
            var id = RequestIds.New(time);
            Assert.Matches("^req_[0-9a-f]{24}$", id);
            Assert.True(seen.Add(id), id);
        }
    }

    [Fact]
    public void Ids_sort_by_the_millisecond_they_were_made_so_the_usage_index_grows_at_its_end()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
        var previous = RequestIds.New(time);
        for (var i = 0; i < 1_000; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(1));
            var next = RequestIds.New(time);
            Assert.True(string.CompareOrdinal(previous, next) < 0, $"{previous} !< {next}");
            previous = next;
        }

        // The first 11 hex digits are the milliseconds since the Unix epoch.
        Assert.Equal(time.GetUtcNow().ToUnixTimeMilliseconds(), Convert.ToInt64(previous[4..15], 16));
    }
}
