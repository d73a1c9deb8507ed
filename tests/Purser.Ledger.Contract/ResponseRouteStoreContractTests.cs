using Purser.Pricing;
using Purser.Responses;

namespace Purser.Ledger.Contract;

/// <summary>The rules of <see cref="IResponseRouteStore"/>, run against every store (SQLite and PostgreSQL).</summary>
public abstract class ResponseRouteStoreContractTests
{
    /// <summary>A route store on the test's database; each call is another instance (or a restart) on the same database.</summary>
    protected abstract IResponseRouteStore Open();

    private static readonly DateTimeOffset Created = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_remembered_route_is_found_by_another_instance_with_every_field()
    {
        var route = new ResponseRoute("resp_1", "k1", "openai", "gpt-x", "gpt-x-2026", Created, ConversationTokens: 1234);
        await Open().RememberAsync(route, default);

        Assert.Equal(route, await Open().FindAsync("resp_1", default));
        Assert.Null(await Open().FindAsync("resp_2", default));
    }

    [Fact]
    public async Task A_conversation_size_recorded_later_is_seen_by_every_instance()
    {
        var route = new ResponseRoute("resp_s", "k1", "openai", "gpt-x", "gpt-x", Created);
        await Open().RememberAsync(route, default);
        Assert.Null((await Open().FindAsync("resp_s", default))!.ConversationTokens);

        await Open().RecordConversationAsync("resp_s", 4321, default);
        Assert.Equal(route with { ConversationTokens = 4321 }, await Open().FindAsync("resp_s", default));
    }

    [Fact]
    public async Task A_second_write_of_the_same_id_changes_nothing()
    {
        var store = Open();
        var first = new ResponseRoute("resp_1", "k1", "openai", "gpt-x", "gpt-x", Created);
        await store.RememberAsync(first, default);
        await Open().RememberAsync(first with { KeyId = "k2", Provider = "elsewhere" }, default);

        Assert.Equal(first, await store.FindAsync("resp_1", default));
    }

    [Fact]
    public async Task A_pending_background_hold_is_claimed_once_across_instances()
    {
        var route = new ResponseRoute("resp_bg", "k1", "openai", "gpt-x", "gpt-x", Created, "held:req-1", new Money(5_000), 300);
        await Open().RememberAsync(route, default);
        Assert.Equal(route, await Open().FindAsync("resp_bg", default));

        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Open().TryClaimPendingAsync("resp_bg", default)));
        Assert.Single(claims, claimed => claimed);
        Assert.Null((await Open().FindAsync("resp_bg", default))!.PendingHoldId);
        Assert.False(await Open().TryClaimPendingAsync("resp_missing", default));
    }

    [Fact]
    public async Task A_forgotten_route_is_gone_for_every_instance()
    {
        await Open().RememberAsync(new ResponseRoute("resp_1", "k1", "openai", "gpt-x", "gpt-x", Created), default);
        await Open().ForgetAsync("resp_1", default);
        Assert.Null(await Open().FindAsync("resp_1", default));
        await Open().ForgetAsync("resp_1", default);
    }

    [Fact]
    public async Task Pending_routes_are_listed_oldest_first_up_to_the_cutoff_and_limit_and_leave_once_claimed()
    {
        var store = Open();
        for (var i = 0; i < 5; i++)
        {
            await store.RememberAsync(new ResponseRoute("resp_p" + i, "k1", "openai", "gpt-x", "gpt-x", Created.AddMinutes(4 - i), "held:h" + i, new Money(100 + i), 10), default);
        }

        await store.RememberAsync(new ResponseRoute("resp_done", "k1", "openai", "gpt-x", "gpt-x", Created.AddMinutes(-10)), default);

        var pending = await Open().PendingAsync(Created.AddMinutes(3), 10, default);
        Assert.Equal(["resp_p4", "resp_p3", "resp_p2", "resp_p1"], pending.Select(r => r.ResponseId));
        Assert.Equal(new Money(104), pending[0].PendingHoldAmount);
        Assert.Equal("held:h4", pending[0].PendingHoldId);

        Assert.Equal(["resp_p4", "resp_p3"], (await Open().PendingAsync(Created.AddMinutes(3), 2, default)).Select(r => r.ResponseId));

        Assert.True(await Open().TryClaimPendingAsync("resp_p4", default));
        Assert.Equal(["resp_p3", "resp_p2", "resp_p1", "resp_p0"], (await Open().PendingAsync(Created.AddHours(1), 10, default)).Select(r => r.ResponseId));
    }
}
