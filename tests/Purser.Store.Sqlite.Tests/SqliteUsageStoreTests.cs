using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Store.Sqlite.Tests;

public sealed class SqliteUsageStoreTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(TestRecords.Start);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Round_trip_keeps_every_field()
    {
        var (db, store) = Create();
        var full = new UsageRecord
        {
            RequestId = "req-full",
            Timestamp = new DateTimeOffset(2025, 6, 7, 10, 11, 12, 345, TimeSpan.FromHours(2)),
            KeyId = "team-a",
            ModelAlias = "smart",
            Provider = "anthropic",
            UpstreamModel = "claude-sonnet-4",
            Operation = "messages",
            Tokens = new TokenUsage(1234, 567, 89, 10, CacheWrite1hTokens: 4, ReasoningTokens: 500, WebSearchRequests: 7, Tier: ServiceTier.Priority),
            Cost = new Money(123_456_789_012),
            Status = 502,
            ErrorCode = "upstream_error",
            LatencyMs = 4321,
            Streamed = true,
            Source = UsageSource.Counted,
        };
        var minimal = TestRecords.Make("req-min", costNano: 0) with { Source = UsageSource.None, Timestamp = full.Timestamp.AddSeconds(-1) };
        await using (store)
        {
            store.Record(full);
            store.Record(minimal);
            await store.FlushAsync(CancellationToken.None).WaitAsync(Bound, TimeProvider.System);

            var read = await store.QueryAsync(new UsageQuery(), CancellationToken.None);

            Assert.Equal([full, minimal], read);
            Assert.Equal(TimeSpan.Zero, read[0].Timestamp.Offset);
            Assert.Null(read[1].ErrorCode);
        }

        Assert.Equal(123_456_789_012, TestRecords.Scalar(db, "SELECT cost_nano FROM usage_records WHERE request_id = 'req-full';"));
        Assert.Equal(full.Timestamp.ToUnixTimeMilliseconds(), TestRecords.Scalar(db, "SELECT timestamp FROM usage_records WHERE request_id = 'req-full';"));
    }

    [Fact]
    public async Task Record_returns_without_waiting_for_the_disk_and_flush_writes_all_of_them()
    {
        var (db, store) = Create();
        await using var _ = store;
        long recordedCost = 0;

        // Another connection holds the write lock, so nothing can reach the disk while the 8 tasks record.
        using var locker = db.OpenConnection();
        var exclusive = locker.BeginTransaction(deferred: false);
        var tasks = Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 1250; i++)
            {
                var cost = (t * 1250L) + i + 1;
                store.Record(TestRecords.Make($"r-{t}-{i}", costNano: cost));
                Interlocked.Add(ref recordedCost, cost);
            }
        }));
        await Task.WhenAll(tasks).WaitAsync(Bound, TimeProvider.System);

        Assert.Equal(10_000, store.PendingCount);
        using (var count = locker.CreateCommand())
        {
            count.Transaction = exclusive;
            count.CommandText = "SELECT count(*) FROM usage_records;";
            Assert.Equal(0L, count.ExecuteScalar());
        }

        exclusive.Rollback();
        await store.FlushAsync(CancellationToken.None).WaitAsync(Bound, TimeProvider.System);

        Assert.Equal(0, store.PendingCount);
        Assert.Equal(10_000, TestRecords.Scalar(db, "SELECT count(*) FROM usage_records;"));
        Assert.Equal(recordedCost, TestRecords.Scalar(db, "SELECT sum(cost_nano) FROM usage_records;"));
    }

    [Fact]
    public async Task DisposeAsync_writes_everything_still_queued()
    {
        var path = _dir.File("purser.db");
        var (_, store) = Create(path, maxDelay: TimeSpan.FromHours(1));
        for (var i = 0; i < 1000; i++)
        {
            store.Record(TestRecords.Make($"r{i}", costNano: 3));
        }

        await store.DisposeAsync().AsTask().WaitAsync(Bound, TimeProvider.System);

        Assert.Equal(0, store.PendingCount);
        SqliteConnection.ClearAllPools();
        var reopened = SqliteDatabase.Open(path);
        Assert.Equal(1000, TestRecords.Scalar(reopened, "SELECT count(*) FROM usage_records;"));
        Assert.Equal(3000, TestRecords.Scalar(reopened, "SELECT sum(cost_nano) FROM usage_records;"));
    }

    [Fact]
    public async Task Record_after_dispose_is_refused_and_flush_completes()
    {
        var (_, store) = Create();
        await store.DisposeAsync();

        Assert.Throws<ObjectDisposedException>(() => store.Record(TestRecords.Make("late")));
        await store.FlushAsync(CancellationToken.None).WaitAsync(Bound, TimeProvider.System);
        Assert.Equal(0, store.PendingCount);
    }

    [Fact]
    public async Task Duplicate_request_id_is_written_once_in_one_batch_and_across_batches()
    {
        var (db, store) = Create();
        await using var _ = store;

        store.Record(TestRecords.Make("dup", costNano: 10));
        store.Record(TestRecords.Make("dup", costNano: 20));
        await store.FlushAsync(CancellationToken.None).WaitAsync(Bound, TimeProvider.System);
        store.Record(TestRecords.Make("dup", costNano: 30));
        await store.FlushAsync(CancellationToken.None).WaitAsync(Bound, TimeProvider.System);

        Assert.Equal(1, TestRecords.Scalar(db, "SELECT count(*) FROM usage_records;"));
        Assert.Equal(10, TestRecords.Scalar(db, "SELECT cost_nano FROM usage_records WHERE request_id = 'dup';"));
        Assert.Equal(0, store.PendingCount);
    }

    [Fact]
    public async Task Full_batch_is_written_at_once_and_a_partial_one_after_MaxDelay()
    {
        var (db, store) = Create(maxBatch: 4, maxDelay: TimeSpan.FromMilliseconds(50));
        await using var _ = store;

        for (var i = 0; i < 9; i++)
        {
            store.Record(TestRecords.Make($"r{i}"));
        }

        // Fake time stands still: two full batches go out, the ninth record waits for its deadline.
        Assert.True(await WaitUntil(() => store.PendingCount == 1));
        Assert.Equal(8, TestRecords.Scalar(db, "SELECT count(*) FROM usage_records;"));

        // The writer may arm its deadline timer just after an advance, so keep nudging fake time (bounded).
        Assert.True(await WaitUntil(() =>
        {
            _time.Advance(TimeSpan.FromMilliseconds(50));
            return store.PendingCount == 0;
        }));
        Assert.Equal(9, TestRecords.Scalar(db, "SELECT count(*) FROM usage_records;"));
    }

    [Fact]
    public async Task Write_failure_is_reported_and_the_batch_lands_once_the_obstacle_is_gone()
    {
        var path = _dir.File("purser.db");
        var db = SqliteDatabase.Open(path);
        var errors = new ConcurrentQueue<Exception>();
        var firstError = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var admin = db.OpenConnection();
        TestRecords.Execute(admin, "CREATE TRIGGER block BEFORE INSERT ON usage_records BEGIN SELECT RAISE(ABORT, 'disk says no'); END;");

        // Real time here: the retry backoff has to elapse on its own.
        var options = new SqliteStoreOptions
        {
            Path = path,
            MaxDelay = TimeSpan.FromMilliseconds(1),
            OnError = e =>
            {
                errors.Enqueue(e);
                firstError.TrySetResult();
            },
        };
        await using var store = new SqliteUsageStore(db, options, TimeProvider.System);
        store.Start();
        store.Record(TestRecords.Make("a"));
        store.Record(TestRecords.Make("b"));

        await firstError.Task.WaitAsync(Bound, TimeProvider.System);
        Assert.Equal(2, store.PendingCount);
        Assert.Equal(0, TestRecords.Scalar(db, "SELECT count(*) FROM usage_records;"));
        TestRecords.Execute(admin, "DROP TRIGGER block;");
        await store.FlushAsync(CancellationToken.None).WaitAsync(Bound, TimeProvider.System);

        Assert.Equal(2, TestRecords.Scalar(db, "SELECT count(*) FROM usage_records;"));
        Assert.Equal(0, store.PendingCount);
        var error = Assert.IsType<SqliteException>(errors.First());
        Assert.Contains("disk says no", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Batch_failing_midway_is_rolled_back_and_retried_whole_without_duplicates()
    {
        var path = _dir.File("purser.db");
        var db = SqliteDatabase.Open(path);
        var failures = 0;
        using var admin = db.OpenConnection();
        TestRecords.Execute(admin, "CREATE TRIGGER block BEFORE INSERT ON usage_records WHEN NEW.request_id = 'r3' BEGIN SELECT RAISE(ABORT, 'no r3'); END;");
        var options = new SqliteStoreOptions
        {
            Path = path,
            MaxDelay = TimeSpan.FromMilliseconds(1),
            OnError = _ => Interlocked.Increment(ref failures),
        };
        await using var store = new SqliteUsageStore(db, options, TimeProvider.System);
        store.Start();
        for (var i = 0; i < 6; i++)
        {
            store.Record(TestRecords.Make($"r{i}", costNano: 1));
        }

        var earlyFlush = store.FlushAsync(CancellationToken.None);
        Assert.True(await WaitUntil(() => Volatile.Read(ref failures) >= 1));

        // r0..r2 were inserted before r3 failed; the rollback must have removed them.
        Assert.Equal(0, TestRecords.Scalar(db, "SELECT count(*) FROM usage_records;"));
        Assert.False(earlyFlush.IsCompleted);
        TestRecords.Execute(admin, "DROP TRIGGER block;");
        await earlyFlush.WaitAsync(Bound, TimeProvider.System);

        Assert.Equal(6, TestRecords.Scalar(db, "SELECT count(*) FROM usage_records;"));
        Assert.Equal(6, TestRecords.Scalar(db, "SELECT sum(cost_nano) FROM usage_records;"));
    }

    [Fact]
    public async Task Throwing_error_callback_does_not_stop_the_writer()
    {
        var path = _dir.File("purser.db");
        var db = SqliteDatabase.Open(path);
        var calls = 0;
        using var admin = db.OpenConnection();
        TestRecords.Execute(admin, "CREATE TRIGGER block BEFORE INSERT ON usage_records BEGIN SELECT RAISE(ABORT, 'no'); END;");
        var options = new SqliteStoreOptions
        {
            Path = path,
            MaxDelay = TimeSpan.Zero,
            OnError = _ =>
            {
                Interlocked.Increment(ref calls);
                throw new InvalidOperationException("logger broke");
            },
        };
        await using var store = new SqliteUsageStore(db, options, TimeProvider.System);
        store.Start();
        store.Record(TestRecords.Make("a"));

        Assert.True(await WaitUntil(() => Volatile.Read(ref calls) >= 2));
        TestRecords.Execute(admin, "DROP TRIGGER block;");
        await store.FlushAsync(CancellationToken.None).WaitAsync(Bound, TimeProvider.System);

        Assert.Equal(1, TestRecords.Scalar(db, "SELECT count(*) FROM usage_records;"));
    }

    private (SqliteDatabase Db, SqliteUsageStore Store) Create(string? path = null, int maxBatch = 512, TimeSpan? maxDelay = null)
    {
        path ??= _dir.File("purser.db");
        var db = SqliteDatabase.Open(path);
        var options = new SqliteStoreOptions { Path = path, MaxBatch = maxBatch, MaxDelay = maxDelay ?? TimeSpan.FromMilliseconds(50) };
        var store = new SqliteUsageStore(db, options, _time);
        store.Start();
        return (db, store);
    }

    /// <summary>Polls a condition in real time, at most ~10 s.</summary>
    private static async Task<bool> WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 1000; i++)
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(10), TimeProvider.System);
        }

        return condition();
    }
}
