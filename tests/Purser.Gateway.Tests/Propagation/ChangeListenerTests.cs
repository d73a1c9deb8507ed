using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Purser.Admin;
using Purser.Gateway.Hosting;
using Purser.Gateway.Propagation;
using Purser.Gateway.Tests.MultiInstance;
using Purser.Keys;
using Purser.SimulatedProvider;
using Purser.Store.Postgres;
using Purser.Store.Postgres.Admin;

namespace Purser.Gateway.Tests.Propagation;

/// <summary>
/// The fallback check runs on the injected clock: a change whose announcement was lost (its version bumped without a
/// NOTIFY, written by "another instance" straight into the shared database) reaches a gateway in this process when its
/// fake clock passes one <see cref="ChangeListener.PollPeriod"/>, and not before.
/// </summary>
public sealed class ChangeListenerTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "purser-listener-" + Guid.NewGuid().ToString("N"));
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private SimulatedProviderServer _simulator = null!;
    private TestPostgres _postgres = null!;
    private GatewayHost _gateway = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _simulator = await SimulatedProviderServer.StartAsync("http://127.0.0.1:0");
        _postgres = await TestPostgres.CreateOnSharedServerAsync();
        var path = Path.Combine(_directory, "purser.yaml");
        await File.WriteAllTextAsync(path, $$"""
            organization: acme
            server:
              listen: http://127.0.0.1:0
            storage:
              sqlite_path: purser.db
              postgres: "{{_postgres.ConnectionString}}"
            providers:
              sim: { kind: openai, base_url: "{{_simulator.BaseAddress.AbsoluteUri.TrimEnd('/')}}/v1", api_key: sim }
            models:
              sim-chat: { provider: sim }
            """);
        _gateway = await GatewayHost.StartAsync(new GatewayHostOptions
        {
            ConfigPath = path,
            Urls = "http://127.0.0.1:0",
            MinimumLogLevel = LogLevel.Warning,
            Time = _time,
        });
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _postgres.DisposeAsync();
        await _simulator.DisposeAsync();
        _http.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task A_lost_announcement_is_applied_once_the_injected_clock_passes_the_check_period()
    {
        var state = _gateway.Services.GetRequiredService<SharedState>();
        var listener = _gateway.Services.GetRequiredService<ChangeListener>();
        await WaitUntilAsync(() => Task.FromResult(listener.Listening), "the listener to connect and reload");
        Assert.Equal(1, await ListenersAsync());

        // Another instance's change, committed with its version bump but without the NOTIFY.
        const string Secret = "sk-purser-lost-announcement";
        await using (var db = PostgresDatabase.Open(_postgres.ConnectionString))
        {
            var store = new PostgresAdminStore(db, TimeProvider.System);
            Assert.True(await store.TryCreateKeyAsync(new StoredKey("late", KeyHasher.Hash(Secret), null, [], null, _time.GetUtcNow(), null), default));
        }

        Assert.Equal(1, await _postgres.ScalarAsync("UPDATE config_version SET version = version + 1 WHERE id = 1 RETURNING version"));
        Assert.Equal(HttpStatusCode.Unauthorized, await ChatAsync(Secret));
        Assert.Equal(0, state.AppliedVersion);

        // The check's timer may be re-armed just after an advance: advance one period at a time, a bounded number of times.
        for (var periods = 1; periods <= 3 && state.AppliedVersion < 1; periods++)
        {
            _time.Advance(ChangeListener.PollPeriod);
            await WaitUntilAsync(() => Task.FromResult(state.AppliedVersion >= 1), "the version check", attempts: 40, mustHold: false);
        }

        Assert.Equal(1, state.AppliedVersion);
        Assert.Equal(HttpStatusCode.OK, await ChatAsync(Secret));
    }

    private Task<long> ListenersAsync() =>
        _postgres.ScalarAsync($"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'purser-listener-{Environment.ProcessId}'");

    private async Task<HttpStatusCode> ChatAsync(string secret)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_gateway.BaseAddress, "/v1/chat/completions"))
        {
            Content = new StringContent("""{"model":"sim-chat","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await _http.SendAsync(request);
        return response.StatusCode;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, int attempts = 400, bool mustHold = true)
    {
        for (var i = 0; i < attempts; i++)
        {
            if (await condition())
            {
                return;
            }

            await Poll.NextAsync(25);
        }

        Assert.False(mustHold, "timed out waiting for " + what);
    }
}
