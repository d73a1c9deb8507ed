using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Purser.Gateway.Tests.MultiInstance;
using Purser.SimulatedProvider;
using Purser.Store.Sqlite;
using Purser.Store.Sqlite.Ledger;
using Xunit.Abstractions;

namespace Purser.Gateway.Tests.Hosting;

/// <summary>
/// The default configuration (SQLite, no ledger option: leases) as a real process, SIGKILLed mid-traffic — plain calls
/// and streams in flight — and restarted on the same file, several times. After each kill, once the dead instance's
/// leases and holds are past their TTL and expired (what the restarted gateway's sweep does), no recorded spend is
/// lost (spent ≥ the usage records, over by at most what the expired leases and holds held, within the crash bound of
/// docs/design.md "Leases"); a last run on the same file is driven to the cap and never exceeds it.
/// </summary>
public sealed class SqliteLeaseCrashProcessTests : IAsyncLifetime
{
    private const string Secret = "sk-purser-crash";
    private const string Budget = "crash-lifetime";
    private const int Kills = 3;
    private const int Clients = 8;
    private const int MaxTokens = 64;

    // sim-chat is $0.50 in / $1.50 out per million tokens; a request's worst case is its estimated input plus 64 tokens.
    private const long CapNano = 100_000_000;

    // A generous worst case of one call: its whole body as input tokens (with the gateway's allowance) plus 64 out.
    private const long WorstCaseNano = ((1_024 + 256) * 500L) + (MaxTokens * 1_500L);

    private static readonly string ChatBody = $$"""{"model":"sim-chat","max_tokens":{{MaxTokens}},"messages":[{"role":"user","content":"hello from the crash test"}]}""";
    private static readonly string StreamBody = $$"""{"model":"sim-stream","stream":true,"max_tokens":{{MaxTokens}},"messages":[{"role":"user","content":"hello from the crash test"}]}""";

    private readonly ITestOutputHelper _output;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "purser-crash-" + Guid.NewGuid().ToString("N"));
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private SimulatedProviderServer _simulator = null!;

    public SqliteLeaseCrashProcessTests(ITestOutputHelper output)
    {
        _output = output;
    }

    private string DatabasePath => Path.Combine(_directory, "purser.db");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _simulator = await SimulatedProviderServer.StartAsync("http://127.0.0.1:0");
    }

    [Fact]
    public async Task Killed_mid_traffic_and_restarted_on_the_same_file_no_recorded_spend_is_lost_and_the_cap_is_never_exceeded()
    {
        var config = await WriteConfigAsync();
        var expiredSoFar = 0L;
        var unrecorded = 0;
        for (var round = 1; round <= Kills; round++)
        {
            await using var gateway = await GatewayProcess.StartAsync(config, new Dictionary<string, string>());
            var traffic = new Traffic(_http, gateway.BaseAddress);
            await using (var sampler = CapSampler.Start(DatabasePath))
            {
                var running = traffic.RunAsync(Clients, requests: 2_000);

                // Mid-traffic: enough calls answered, and streams whose first bytes arrived still running.
                await WaitUntilAsync(() => traffic.Answered >= 40 && traffic.StreamsInFlight > 0, "traffic with streams in flight", gateway);
                await gateway.KillAsync();
                await running;
                Assert.True(sampler.Violations.IsEmpty, "spent + held above the cap: " + string.Join("; ", sampler.Violations));
                Assert.True(sampler.Samples > 0);
            }

            Assert.True(traffic.Cut > 0, "the kill cut no request");
            Assert.All(traffic.Statuses, s => Assert.True(s is 200 or 402, $"status {s}"));

            // Recovery: the dead instance's leases and holds, past their TTL, are charged in full by the expiry pass
            // (the restarted gateway's LedgerSweep runs the same ExpireAsync once its clock passes them).
            var expired = await ExpireOrphansAsync();
            Assert.True(expired > 0, "the kill left no lease or hold behind");
            var ledger = LedgerState.Read(DatabasePath);
            Assert.Equal(0, ledger.Held);
            Assert.Equal(ledger.Charged, ledger.Spent);
            Assert.True(ledger.Spent <= CapNano, $"spent {ledger.Spent} above the cap {CapNano}");

            // No recorded spend is lost; what is above it is what the crash left held, charged in full.
            Assert.True(ledger.Spent >= ledger.Recorded, $"spent {ledger.Spent} below the usage records {ledger.Recorded}");
            // Answered calls whose records were still in the write buffer are lost with it; their spend is not.
            unrecorded += traffic.AnsweredIds.Count(id => !ledger.RecordIds.Contains(id));
            var bound = ledger.ExpiredHeld + (unrecorded * WorstCaseNano);
            Assert.True(ledger.Spent - ledger.Recorded <= bound, $"over-count {ledger.Spent - ledger.Recorded} beyond the {ledger.ExpiredHeld} the crashes left held and {unrecorded} answers without a record");

            // The crash bound: each lease at most min($1, cap / 8); this kill left at most two (one renewing) on the counter.
            Assert.All(ledger.LeaseAmounts, amount => Assert.True(amount <= Math.Min(1_000_000_000L, CapNano / 8), $"a lease of {amount}"));
            Assert.InRange(ledger.ExpiredLeases - expiredSoFar, 0, 2);
            expiredSoFar = ledger.ExpiredLeases;
            _output.WriteLine($"kill {round}: {traffic.Answered} answered, {traffic.Cut} cut ({traffic.StreamsCut} streams), {expired} leases and holds expired; spent {ledger.Spent}, recorded {ledger.Recorded}, over-count {ledger.Spent - ledger.Recorded}");
        }

        // A last restart on the same file, driven to the cap and past it, then stopped cleanly.
        var before = LedgerState.Read(DatabasePath);
        await using (var gateway = await GatewayProcess.StartAsync(config, new Dictionary<string, string>()))
        {
            var traffic = new Traffic(_http, gateway.BaseAddress) { StopAfterRefusals = 40 };
            await using (var sampler = CapSampler.Start(DatabasePath))
            {
                await traffic.RunAsync(Clients, requests: 3_000);
                Assert.True(sampler.Violations.IsEmpty, "spent + held above the cap: " + string.Join("; ", sampler.Violations));
            }

            Assert.True(traffic.Refused >= 40, $"only {traffic.Refused} refusals: the cap was not reached");
            Assert.Equal(0, traffic.Cut);
            await gateway.StopAsync();
        }

        var after = LedgerState.Read(DatabasePath);
        Assert.Equal(0, after.Held);
        Assert.Equal(after.Charged, after.Spent);
        Assert.True(after.Spent <= CapNano, $"spent {after.Spent} above the cap {CapNano}");

        // A clean run is exact: what it added to the ledger is what its usage records say, to the nano-dollar.
        Assert.Equal(after.Recorded - before.Recorded, after.Spent - before.Spent);
        _output.WriteLine($"last run: spent {before.Spent} → {after.Spent} of {CapNano}, recorded {before.Recorded} → {after.Recorded}");
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _simulator.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left behind in the temp directory: harmless.
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what, GatewayProcess gateway)
    {
        for (var i = 0; i < 1_200 && !condition(); i++)
        {
            await Poll.NextAsync(10);
        }

        Assert.True(condition(), "timed out waiting for " + what + ":\n" + gateway.Output);
    }

    private async Task<int> ExpireOrphansAsync()
    {
        // Past the lease TTL (30 s) and the request holds' (upstream timeout + 60 s).
        using var ledger = new SqliteBudgetLedger(SqliteDatabase.Open(DatabasePath));
        var expired = await ledger.ExpireAsync(TimeProvider.System.GetUtcNow().AddMinutes(3), CancellationToken.None);
        Assert.Equal(0, await ledger.ExpireAsync(TimeProvider.System.GetUtcNow().AddMinutes(3), CancellationToken.None));
        return expired;
    }

    private async Task<string> WriteConfigAsync()
    {
        // No ledger option anywhere: the default configuration.
        var sim = _simulator.BaseAddress.AbsoluteUri.TrimEnd('/');
        var path = Path.Combine(_directory, "purser.yaml");
        await File.WriteAllTextAsync(path, $$"""
            organization: acme
            server:
              listen: http://127.0.0.1:0
              upstream_timeout_seconds: 2
            storage:
              sqlite_path: purser.db
            providers:
              sim: { kind: openai, base_url: "{{sim}}/v1", api_key: sim }
            models:
              sim-chat: { provider: sim, upstream: "sim-chat~out=48", price: { input: 0.5, output: 1.5 } }
              sim-stream: { provider: sim, upstream: "sim-chat~out=48,tps=400", price: { input: 0.5, output: 1.5 } }
            keys:
              - { id: crash, secret: {{Secret}} }
            budgets:
              - { id: {{Budget}}, scope: "key:crash", window: lifetime, mode: reserve, cap_usd: {{Pricing.Money.FromNano(CapNano)}} }
            """);
        return path;
    }

    /// <summary>Bounded traffic: <c>clients</c> loops alternate plain calls and streams until the count is sent or the gateway dies.</summary>
    private sealed class Traffic(HttpClient http, Uri gateway)
    {
        private int _sent;
        private int _answered;
        private int _refused;
        private int _cut;
        private int _streamsCut;
        private int _streamsInFlight;

        public int StopAfterRefusals { get; init; } = int.MaxValue;

        public ConcurrentBag<int> Statuses { get; } = [];

        public ConcurrentBag<string> AnsweredIds { get; } = [];

        public int Answered => Volatile.Read(ref _answered);

        public int Refused => Volatile.Read(ref _refused);

        public int Cut => Volatile.Read(ref _cut);

        public int StreamsCut => Volatile.Read(ref _streamsCut);

        public int StreamsInFlight => Volatile.Read(ref _streamsInFlight);

        public async Task RunAsync(int clients, int requests)
        {
            var loops = new Task[clients];
            for (var c = 0; c < clients; c++)
            {
                loops[c] = Task.Run(async () =>
                {
                    int i;
                    while ((i = Interlocked.Increment(ref _sent)) <= requests && Cut == 0 && Refused < StopAfterRefusals)
                    {
                        await SendAsync(stream: i % 2 == 0);
                    }
                });
            }

            await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(120), TimeProvider.System);
        }

        private async Task SendAsync(bool stream)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway, "/v1/chat/completions"))
            {
                Content = new StringContent(stream ? StreamBody : ChatBody, Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Secret);
            var reading = false;
            try
            {
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                var status = (int)response.StatusCode;
                if (stream && status == 200)
                {
                    await using var body = await response.Content.ReadAsStreamAsync();
                    using var reader = new StreamReader(body);
                    var first = await reader.ReadLineAsync();
                    Assert.NotNull(first);
                    reading = true;
                    Interlocked.Increment(ref _streamsInFlight);
                    try
                    {
                        var text = await reader.ReadToEndAsync();
                        if (!text.Contains("[DONE]", StringComparison.Ordinal))
                        {
                            // The connection closed mid-stream: the process died under it.
                            throw new IOException("stream ended without [DONE]");
                        }
                    }
                    finally
                    {
                        Interlocked.Decrement(ref _streamsInFlight);
                    }
                }
                else
                {
                    await response.Content.ReadAsStringAsync();
                }

                Statuses.Add(status);
                if (status == 200 && response.Headers.TryGetValues("x-request-id", out var ids))
                {
                    AnsweredIds.Add(ids.First());
                }

                Interlocked.Increment(ref status == 402 ? ref _refused : ref _answered);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException)
            {
                Interlocked.Increment(ref _cut);
                if (reading)
                {
                    Interlocked.Increment(ref _streamsCut);
                }
            }
        }
    }

    /// <summary>The budget's counter, its holds and the usage records, read from the SQLite file.</summary>
    private sealed record LedgerState(long Spent, long Held, long Charged, long Recorded, long ExpiredHeld, long ExpiredLeases, IReadOnlyList<long> LeaseAmounts, IReadOnlySet<string> RecordIds)
    {
        public static LedgerState Read(string path)
        {
            using var connection = SqliteDatabase.Open(path).OpenConnection();
            long Scalar(string sql)
            {
                using var command = connection.CreateCommand();
                command.CommandText = sql;
                command.Parameters.AddWithValue("$id", Budget);
                return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
            }

            const string Holds = "FROM ledger_holds h JOIN ledger_hold_lines l ON l.hold_id = h.hold_id WHERE l.budget_id = $id";
            var leases = new List<long>();
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT h.amount_nano " + Holds + " AND h.hold_id LIKE 'lease:%'";
                command.Parameters.AddWithValue("$id", Budget);
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    leases.Add(reader.GetInt64(0));
                }
            }

            var records = new HashSet<string>(StringComparer.Ordinal);
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT request_id FROM usage_records WHERE key_id = 'crash'";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    records.Add(reader.GetString(0));
                }
            }

            return new LedgerState(
                Scalar("SELECT COALESCE(SUM(spent_nano), 0) FROM ledger_counters WHERE budget_id = $id"),
                Scalar("SELECT COALESCE(SUM(held_nano), 0) FROM ledger_counters WHERE budget_id = $id"),
                Scalar("SELECT COALESCE(SUM(CASE h.state WHEN 2 THEN h.amount_nano ELSE COALESCE(h.actual_nano, 0) END), 0) " + Holds),
                Scalar("SELECT COALESCE(SUM(cost_nano), 0) FROM usage_records WHERE key_id = 'crash'"),
                Scalar("SELECT COALESCE(SUM(h.amount_nano), 0) " + Holds + " AND h.state = 2"),
                Scalar("SELECT count(*) " + Holds + " AND h.state = 2 AND h.hold_id LIKE 'lease:%'"),
                leases,
                records);
        }
    }

    /// <summary>Reads the counter from the SQLite file every 20 ms while the gateway runs and notes any spent + held above the cap.</summary>
    private sealed class CapSampler : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private int _samples;

        private CapSampler(string path)
        {
            _loop = Task.Run(async () =>
            {
                using var connection = SqliteDatabase.Open(path).OpenConnection();
                while (!_stop.IsCancellationRequested)
                {
                    using (var command = connection.CreateCommand())
                    {
                        command.CommandText = "SELECT spent_nano, held_nano FROM ledger_counters WHERE budget_id = $id";
                        command.Parameters.AddWithValue("$id", Budget);
                        using var reader = command.ExecuteReader();
                        while (reader.Read())
                        {
                            var (spent, held) = (reader.GetInt64(0), reader.GetInt64(1));
                            if (spent + held > CapNano)
                            {
                                Violations.Add(string.Create(CultureInfo.InvariantCulture, $"{spent} + {held} > {CapNano}"));
                            }
                        }
                    }

                    Interlocked.Increment(ref _samples);
                    await Poll.NextAsync(20);
                }
            });
        }

        public ConcurrentBag<string> Violations { get; } = [];

        public int Samples => Volatile.Read(ref _samples);

        public static CapSampler Start(string path) => new(path);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _stop.Dispose();
        }
    }
}
