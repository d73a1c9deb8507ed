using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Purser.Gateway.Configuration;
using Purser.Gateway.Tests.Infrastructure;
using Purser.Gateway.Usage;
using Purser.Usage;

namespace Purser.Gateway.Tests.Usage;

/// <summary>
/// A background loop that throws is logged and runs again: the retention pass's store fails once, the failure is
/// logged with its exception, and the next period's pass (driven by the fake clock) runs and succeeds.
/// </summary>
public sealed class UsageRetentionFailureTests
{
    [Fact]
    public async Task A_failed_pass_is_logged_and_the_loop_runs_again_at_its_next_period()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
        using var monitor = new ConfigMonitor(TestConfig.State("usage:\n  retention_days: 2\n"), null, _ => null, time, NullLogger<ConfigMonitor>.Instance);
        var store = new FailingOnceRetention();
        var logger = new CapturingLogger<UsageRetention>();
        using var retention = new UsageRetention(monitor, store, time, logger);
        var passes = Channel.CreateUnbounded<long>();
        retention.PassCompleted += deleted => passes.Writer.TryWrite(deleted);

        await retention.StartAsync(CancellationToken.None);

        // The first pass (at start) throws: logged as an error with the store's exception, and the loop goes on.
        Assert.Equal(0, await passes.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30), TimeProvider.System));
        var error = Assert.Single(logger.Entries, e => e.Level == LogLevel.Error);
        Assert.Same(store.Thrown, error.Exception);
        Assert.False(retention.ExecuteTask!.IsCompleted);

        // The next period's pass runs (the clock is moved until the loop's delay has been armed and has fired).
        var next = passes.Reader.ReadAsync().AsTask();
        for (var attempt = 0; !next.IsCompleted; attempt++)
        {
            Assert.True(attempt < 600, "the loop did not run again within 30 s");
            time.Advance(TimeSpan.FromMinutes(10));
            await Task.WhenAny(next, Poll.NextAsync(50));
        }

        Assert.Equal(FailingOnceRetention.Deleted, await next);
        Assert.True(store.Calls >= 2);
        Assert.Single(logger.Entries, e => e.Level == LogLevel.Error);

        await retention.StopAsync(CancellationToken.None);
        Assert.True(retention.ExecuteTask.IsCompleted);
    }

    private sealed class FailingOnceRetention : IUsageRetention
    {
        public const int Deleted = 3;

        private int _calls;

        public InvalidOperationException Thrown { get; } = new("the database is away");

        public int Calls => Volatile.Read(ref _calls);

        public Task<int> PruneAsync(DateTimeOffset before, int batchSize, CancellationToken ct) =>
            Interlocked.Increment(ref _calls) == 1 ? Task.FromException<int>(Thrown) : Task.FromResult(Deleted);
    }
}
