using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Purser.Dashboard;
using Purser.Gateway.Configuration;
using Purser.Gateway.Dashboard;
using Purser.Gateway.Tests.Infrastructure;
using Purser.Keys;
using Purser.Store.Sqlite;
using Purser.Store.Sqlite.Dashboard;

namespace Purser.Gateway.Tests.Dashboard;

/// <summary>
/// The master key's rotation is written by the service's own loop: a reload only queues it. A write that fails is
/// logged and the loop goes on to write the next rotation; stopping the service ends its loop.
/// </summary>
public sealed class SessionRotationTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "purser-rotation-" + Guid.NewGuid().ToString("N"));

    public SessionRotationTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_failed_rotation_is_logged_and_the_next_rotation_ends_the_old_sessions()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
        var path = Path.Combine(_directory, "purser.yaml");
        await WriteConfigAsync(path, "key-one");
        using var monitor = new ConfigMonitor(StateOf(path), path, _ => null, time, new CapturingLogger<ConfigMonitor>());
        var store = new FailingOnceStore(new SqliteDashboardStore(SqliteDatabase.Open(Path.Combine(_directory, "purser.db"))));
        var logger = new CapturingLogger<SessionRotation>();
        using var rotation = new SessionRotation(monitor, store, time, logger);
        var rotated = Channel.CreateUnbounded<int>();
        rotation.Rotated += ended => rotated.Writer.TryWrite(ended);
        var expires = time.GetUtcNow().AddHours(1);
        await store.AddSessionAsync(new DashboardSessionRecord("of-key-one", DashboardSession.Fingerprint(KeyHasher.Hash("key-one")), expires), CancellationToken.None);
        await rotation.StartAsync(CancellationToken.None);

        // The first rotation's write fails: logged with its exception; the session is still there.
        await WriteConfigAsync(path, "key-two");
        Assert.Empty(monitor.Reload());
        Assert.Equal(0, await NextAsync(rotated));
        var error = Assert.Single(logger.Entries, e => e.Level == LogLevel.Error);
        Assert.Same(store.Thrown, error.Exception);
        Assert.NotNull(await store.FindSessionAsync("of-key-one", CancellationToken.None));
        Assert.False(rotation.ExecuteTask!.IsCompleted);

        // The loop carries on: the next rotation ends every session of another key.
        await store.AddSessionAsync(new DashboardSessionRecord("of-key-two", DashboardSession.Fingerprint(KeyHasher.Hash("key-two")), expires), CancellationToken.None);
        await WriteConfigAsync(path, "key-three");
        Assert.Empty(monitor.Reload());
        Assert.Equal(2, await NextAsync(rotated));
        Assert.Null(await store.FindSessionAsync("of-key-one", CancellationToken.None));
        Assert.Null(await store.FindSessionAsync("of-key-two", CancellationToken.None));
        Assert.Single(logger.Entries, e => e.Level == LogLevel.Error);

        await rotation.StopAsync(CancellationToken.None);
        Assert.True(rotation.ExecuteTask.IsCompleted);
    }

    private static Task<int> NextAsync(Channel<int> rotated) =>
        rotated.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30), TimeProvider.System);

    private static GatewayState StateOf(string path)
    {
        var result = Purser.Configuration.ConfigLoader.LoadFile(path, _ => null, Purser.Pricing.PriceCatalog.Default);
        Assert.True(result.Success, string.Join("; ", result.Errors));
        return new GatewayState(result.Config!);
    }

    private static Task WriteConfigAsync(string path, string adminKey) => File.WriteAllTextAsync(path, $$"""
        organization: acme
        server:
          listen: http://127.0.0.1:0
          admin_key_hash: {{KeyHasher.Hash(adminKey)}}
        storage:
          sqlite_path: purser.db
        providers:
          sim-openai: { kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: sim }
        models:
          sim-chat: { provider: sim-openai }
        """);

    /// <summary>The real SQLite store, whose first <see cref="EndSessionsAsync"/> fails as an unreachable database would.</summary>
    private sealed class FailingOnceStore(IDashboardStore inner) : IDashboardStore
    {
        private int _ends;

        public InvalidOperationException Thrown { get; } = new("the database is away");

        public IReadOnlyList<string> ListKeyRingElements() => inner.ListKeyRingElements();

        public void AddKeyRingElement(string name, string xml) => inner.AddKeyRingElement(name, xml);

        public Task AddSessionAsync(DashboardSessionRecord session, CancellationToken ct) => inner.AddSessionAsync(session, ct);

        public Task<DashboardSessionRecord?> FindSessionAsync(string id, CancellationToken ct) => inner.FindSessionAsync(id, ct);

        public Task<bool> ExtendSessionAsync(string id, DateTimeOffset expiresAt, CancellationToken ct) => inner.ExtendSessionAsync(id, expiresAt, ct);

        public Task<bool> EndSessionAsync(string id, CancellationToken ct) => inner.EndSessionAsync(id, ct);

        public Task<int> EndSessionsAsync(string fingerprint, DateTimeOffset now, CancellationToken ct) =>
            Interlocked.Increment(ref _ends) == 1 ? Task.FromException<int>(Thrown) : inner.EndSessionsAsync(fingerprint, now, ct);
    }
}
