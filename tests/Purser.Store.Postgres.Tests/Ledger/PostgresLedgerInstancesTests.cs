using Purser.Budgets;
using Purser.Pricing;
using Purser.Store.Postgres.Ledger;

namespace Purser.Store.Postgres.Tests.Ledger;

/// <summary>
/// Several ledgers on one schema, each with its own connection pool, as separate gateway processes would have.
/// </summary>
public sealed class PostgresLedgerInstancesTests : IAsyncLifetime
{
    private const string Window = "2026-11-24";
    private const long Amount = 1_000;
    private static readonly DateTimeOffset Expiry = new(2026, 11, 24, 12, 5, 0, TimeSpan.Zero);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private readonly List<PostgresDatabase> _databases = [];
    private TestSchema? _schema;

    private TestSchema Schema => _schema ?? throw new InvalidOperationException("Not initialised.");

    public async Task InitializeAsync() => _schema = await TestSchema.CreateAsync();

    public async Task DisposeAsync()
    {
        foreach (var db in _databases)
        {
            await db.DisposeAsync();
        }

        if (_schema is not null)
        {
            await _schema.DisposeAsync();
        }
    }

    [Fact]
    public async Task Three_instances_racing_200_reserves_on_overlapping_paths_never_exceed_a_cap_and_settle_to_the_exact_actuals()
    {
        var ledgers = await OpenInstancesAsync(3);
        var caps = new Dictionary<string, long> { ["org"] = 90 * Amount, ["team"] = 70 * Amount, ["key-a"] = 30 * Amount, ["key-b"] = 45 * Amount, ["task"] = 25 * Amount };
        string[][] paths =
        [
            ["org", "team", "key-a"], ["key-a", "team", "org"], ["org", "key-b"], ["task", "key-b", "team"],
            ["team", "task"], ["key-b", "org", "task", "key-a"], ["task"],
        ];

        var requests = new HoldRequest[200];
        var reserves = new Task<HoldOutcome>[requests.Length];
        for (var i = 0; i < requests.Length; i++)
        {
            var path = paths[i % paths.Length];
            var lines = new HoldLine[path.Length];
            for (var j = 0; j < path.Length; j++)
            {
                lines[j] = new HoldLine(new CounterKey(path[j], Window), new Money(caps[path[j]]), null, AccountingMode.Reserve, Enforcement.Hard);
            }

            var request = new HoldRequest("h" + i, lines, new Money(Amount), 1, Expiry);
            var ledger = ledgers[i % ledgers.Length];
            requests[i] = request;
            reserves[i] = Task.Run(async () => await ledger.ReserveAsync(request, CancellationToken.None));
        }

        var outcomes = await Task.WhenAll(reserves).WaitAsync(Bound, TimeProvider.System);

        var expectedHeld = caps.Keys.ToDictionary(k => k, _ => 0L);
        var granted = new List<int>();
        for (var i = 0; i < outcomes.Length; i++)
        {
            if (outcomes[i].Granted)
            {
                granted.Add(i);
                foreach (var line in requests[i].Lines)
                {
                    expectedHeld[line.Counter.BudgetId] += Amount;
                }
            }
        }

        Assert.NotEmpty(granted);
        Assert.True(granted.Count < requests.Length, "the caps are meant to refuse some requests");
        foreach (var (budget, cap) in caps)
        {
            var state = await ReadAsync(ledgers[0], budget);
            Assert.True(state.Held.NanoUsd <= cap, $"{budget} holds {state.Held.NanoUsd} over its cap {cap}");
            Assert.Equal(expectedHeld[budget], state.Held.NanoUsd);
        }

        // A refusal was right: holds only grew, so the refusing line is still too full for the request at the end.
        for (var i = 0; i < outcomes.Length; i++)
        {
            if (!outcomes[i].Granted)
            {
                var refused = requests[i].Lines[outcomes[i].DeniedLine].Counter.BudgetId;
                Assert.True(expectedHeld[refused] + Amount > caps[refused], $"request {i} was refused by {refused}, which had room");
            }
        }

        // Settle every granted hold on another instance than the one that took it, with expiry passes racing them.
        var settles = new List<Task>();
        var expectedSpent = caps.Keys.ToDictionary(k => k, _ => 0L);
        foreach (var i in granted)
        {
            var id = "h" + i;
            var actual = 100 + i;
            var ledger = ledgers[(i + 1) % ledgers.Length];
            settles.Add(Task.Run(async () => await ledger.SettleAsync(id, new Money(actual), 1, CancellationToken.None)));
            if (i % 10 == 0)
            {
                var expirer = ledgers[(i + 2) % ledgers.Length];
                settles.Add(Task.Run(async () => await expirer.ExpireAsync(Expiry, CancellationToken.None)));
            }

            foreach (var line in requests[i].Lines)
            {
                expectedSpent[line.Counter.BudgetId] += actual;
            }
        }

        await Task.WhenAll(settles).WaitAsync(Bound, TimeProvider.System);

        foreach (var budget in caps.Keys)
        {
            var state = await ReadAsync(ledgers[2], budget);
            Assert.Equal(expectedSpent[budget], state.Spent.NanoUsd);
            Assert.Equal(0, state.Held.NanoUsd);
            Assert.Equal(0, state.HeldTokens);
        }
    }

    [Fact]
    public async Task A_hold_taken_on_one_instance_expires_on_another_and_a_late_settle_on_a_third_corrects_it()
    {
        var ledgers = await OpenInstancesAsync(3);
        var line = new HoldLine(new CounterKey("b", Window), new Money(10 * Amount), null, AccountingMode.Reserve, Enforcement.Hard);
        Assert.True((await ledgers[0].ReserveAsync(new HoldRequest("h", [line], new Money(Amount), 10, Expiry), CancellationToken.None)).Granted);

        Assert.Equal(1, await ledgers[1].ExpireAsync(Expiry, CancellationToken.None));
        Assert.Equal(new CounterState(new Money(Amount), Money.Zero, 10, 0), await ReadAsync(ledgers[2], "b"));

        Assert.Equal(SettleOutcome.CorrectedAfterExpiry, await ledgers[2].SettleAsync("h", new Money(250), 3, CancellationToken.None));
        Assert.Equal(SettleOutcome.AlreadySettled, await ledgers[0].SettleAsync("h", new Money(250), 3, CancellationToken.None));
        Assert.Equal(new CounterState(new Money(250), Money.Zero, 3, 0), await ReadAsync(ledgers[1], "b"));
    }

    private async Task<PostgresBudgetLedger[]> OpenInstancesAsync(int count)
    {
        var ledgers = new PostgresBudgetLedger[count];
        for (var i = 0; i < count; i++)
        {
            var db = PostgresDatabase.Open(Schema.ConnectionString);
            _databases.Add(db);
            ledgers[i] = new PostgresBudgetLedger(db);
        }

        await Task.CompletedTask;
        return ledgers;
    }

    private static async Task<CounterState> ReadAsync(IBudgetLedger ledger, string budgetId)
        => (await ledger.ReadAsync([new CounterKey(budgetId, Window)], CancellationToken.None))[0];
}
