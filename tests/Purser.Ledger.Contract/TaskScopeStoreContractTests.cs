using Microsoft.Extensions.Time.Testing;
using Purser.Admin;
using Purser.Budgets;
using Purser.Pricing;

namespace Purser.Ledger.Contract;

/// <summary>The rules of <see cref="ITaskScopeStore"/>, run against every store (SQLite and PostgreSQL).</summary>
public abstract class TaskScopeStoreContractTests
{
    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));

    /// <summary>A task store on the test's database; each call is another instance on the same database.</summary>
    protected abstract ITaskScopeStore Open();

    /// <summary>The admin store on the same database (budgets are deleted through it).</summary>
    protected abstract IAdminStore OpenAdmin();

    protected static BudgetDefinition Task(string owner, string taskId, long capNano) => new()
    {
        Id = "task:" + owner + ":" + taskId,
        Scope = new ScopeRef(ScopeKind.Task, taskId),
        Window = BudgetWindowKind.Lifetime,
        CapUsd = new Money(capNano),
        Enforcement = Enforcement.Hard,
        Mode = AccountingMode.Reserve,
    };

    [Fact]
    public async Task A_created_task_is_found_by_its_id_with_every_field()
    {
        var store = Open();
        var task = Task("team:a", "swarm-1", 5_000);
        Assert.Null(await store.FindAsync(task.Id, default));

        Assert.Equal(TaskCreation.Created, await store.TryCreateAsync(task, "k1", 10, default));

        var found = await Open().FindAsync(task.Id, default);
        Assert.NotNull(found);
        Assert.Equal(task.AlertThresholds, found.AlertThresholds);
        Assert.Equal(task, found with { AlertThresholds = task.AlertThresholds });
        Assert.Null(await store.FindAsync("task:team:b:swarm-1", default));
    }

    [Fact]
    public async Task The_same_task_id_in_two_owners_is_two_tasks_and_a_second_creation_of_one_changes_nothing()
    {
        var store = Open();
        Assert.Equal(TaskCreation.Created, await store.TryCreateAsync(Task("team:a", "swarm-1", 5_000), "k1", 10, default));
        Assert.Equal(TaskCreation.Created, await store.TryCreateAsync(Task("key:k2", "swarm-1", 9_000), "k2", 10, default));

        // A second creation with another ceiling writes nothing: the first one stays.
        Assert.Equal(TaskCreation.Exists, await Open().TryCreateAsync(Task("team:a", "swarm-1", 1_000_000), "k3", 10, default));
        Assert.Equal(new Money(5_000), (await store.FindAsync("task:team:a:swarm-1", default))!.CapUsd);
        Assert.Equal(new Money(9_000), (await store.FindAsync("task:key:k2:swarm-1", default))!.CapUsd);
    }

    [Fact]
    public async Task A_key_cannot_open_more_than_its_limit_and_a_deleted_task_frees_a_place()
    {
        var store = Open();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(TaskCreation.Created, await store.TryCreateAsync(Task("key:k1", "t" + i, 1_000), "k1", 3, default));
        }

        Assert.Equal(TaskCreation.LimitReached, await store.TryCreateAsync(Task("key:k1", "t3", 1_000), "k1", 3, default));
        Assert.Null(await store.FindAsync("task:key:k1:t3", default));

        // Another key is not limited by k1's tasks; an existing task is "exists", not "limit reached".
        Assert.Equal(TaskCreation.Created, await store.TryCreateAsync(Task("key:k2", "t0", 1_000), "k2", 3, default));
        Assert.Equal(TaskCreation.Exists, await store.TryCreateAsync(Task("key:k1", "t0", 1_000), "k1", 3, default));

        Assert.True(await OpenAdmin().DeleteBudgetAsync("task:key:k1:t1", default));
        Assert.Equal(TaskCreation.Created, await store.TryCreateAsync(Task("key:k1", "t3", 1_000), "k1", 3, default));
    }

    [Fact]
    public async Task Concurrent_creations_of_one_task_on_several_instances_agree_on_one_winner()
    {
        var stores = Enumerable.Range(0, 4).Select(_ => Open()).ToArray();
        var results = await System.Threading.Tasks.Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            System.Threading.Tasks.Task.Run(() => stores[i % 4].TryCreateAsync(Task("team:a", "race", 1_000 + i), "k" + i, 10, default))));

        Assert.Equal(1, results.Count(r => r == TaskCreation.Created));
        Assert.Equal(15, results.Count(r => r == TaskCreation.Exists));
    }

    [Fact]
    public async Task Concurrent_creations_by_one_key_never_pass_its_limit()
    {
        var stores = Enumerable.Range(0, 4).Select(_ => Open()).ToArray();
        var results = await System.Threading.Tasks.Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            System.Threading.Tasks.Task.Run(() => stores[i % 4].TryCreateAsync(Task("key:k1", "t" + i, 1_000), "k1", 5, default))));

        Assert.Equal(5, results.Count(r => r == TaskCreation.Created));
        Assert.Equal(11, results.Count(r => r == TaskCreation.LimitReached));
    }
}
