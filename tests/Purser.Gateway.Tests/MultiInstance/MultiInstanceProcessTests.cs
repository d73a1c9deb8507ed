using System.Collections.Concurrent;
using System.Globalization;
using Purser.Pricing;
using Purser.SimulatedProvider;
using Purser.Store.Postgres;
using Purser.Store.Postgres.Ledger;
using Xunit.Abstractions;

namespace Purser.Gateway.Tests.MultiInstance;

/// <summary>
/// Three gateway processes on one PostgreSQL database, one key and one task scope, driven concurrently: the shared
/// ledger keeps every cap, and after quiescence what it says was spent is exactly what the usage records say, also
/// when one instance is SIGKILLed mid-load and when PostgreSQL itself is stopped and restarted.
/// </summary>
[Collection(PrivateClusterCollection.Name)]
public sealed class MultiInstanceProcessTests : IAsyncLifetime
{
    private const int Instances = 3;
    private const int Clients = 24;
    private const string KeyBudget = "swarm-daily";
    // A task lives inside its owner: the key "swarm" has no team, so the key itself.
    private const string TaskBudget = "task:key:swarm:" + MultiInstanceLoad.TaskId;

    // A short upstream timeout keeps the hold TTL (timeout + 60 s) as short as the gateway allows.
    private const int UpstreamTimeoutSeconds = 2;

    private readonly ITestOutputHelper _output;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "purser-mi-" + Guid.NewGuid().ToString("N"));
    private readonly List<GatewayProcess> _gateways = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private SimulatedProviderServer _simulator = null!;
    private TestPostgres? _postgres;
    private bool _leases;
    private long? _leaseMax;
    private long? _failOpenCap;

    public MultiInstanceProcessTests(ITestOutputHelper output)
    {
        _output = output;
    }

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _simulator = await SimulatedProviderServer.StartAsync("http://127.0.0.1:0");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Three_instances_under_concurrent_load_never_exceed_a_cap_and_spent_equals_the_usage_records(bool leases)
    {
        _leases = leases;
        _postgres = await TestPostgres.CreateOnSharedServerAsync();
        var (keyCap, taskCap) = (120 * MultiInstanceLoad.WorstCaseNano, 80 * MultiInstanceLoad.WorstCaseNano);
        await StartGatewaysAsync(keyCap);
        var load = new MultiInstanceLoad(Addresses(), _http, Usd(taskCap));

        // Warm-up (task budget created, connections pooled, code jitted), then the measured steady state.
        await load.RunAsync(30, Clients);
        var before = await _postgres.TransactionsAsync();
        await using (var sampler = CapSampler.Start(_postgres, new() { [KeyBudget] = keyCap, [TaskBudget] = taskCap }))
        {
            await load.RunAsync(1_500, Clients, firstRequest: 30);
            await sampler.StopAsync();
            Assert.True(sampler.Violations.IsEmpty, "spent + held above a cap: " + string.Join("; ", sampler.Violations));
            var transactions = await SettledTransactionsAsync(before) - sampler.Samples;
            var outcomes = load.Outcomes.ToArray();
            var admitted = outcomes.Count(o => o.Status == 200);
            _output.WriteLine(FormattableString.Invariant(
                $"PostgreSQL round trips at steady state: {transactions} transactions for 1500 requests ({admitted} admitted, the rest refused at the cap) = {(double)transactions / 1_500:F2} per request, {(double)transactions / admitted:F2} per admitted request; each reserve or settle transaction is 3 round trips (2 statement batches + commit), a refused reserve 2, a usage batch 1 per up to 512 records; leases {leases} (the caps here fit only ~100 worst cases, so most of the run is near a cap, where leases pass requests through)"));
        }

        var all = load.Outcomes.ToArray();
        Assert.All(all, o => Assert.True(o.Status is 200 or 402, $"{o.Status} {o.Code}"));
        Assert.Contains(all, o => o.Status == 402);
        Assert.True(all.Count(o => o.Status == 200) > 100, "too few admitted");
        foreach (var gateway in Enumerable.Range(0, Instances))
        {
            Assert.Contains(all, o => o.Gateway == gateway && o.Status == 200);
        }

        await StopGatewaysAsync();
        var ledger = await LedgerAsync();
        Assert.Equal(0, ledger.OpenHolds);
        ledger.AssertConsistent(keyCap, taskCap);
        Assert.Equal(ledger.Spent[KeyBudget], await UsageCostAsync("key_id = 'swarm'"));
        Assert.Equal(ledger.Spent[TaskBudget], await UsageCostAsync($"task_scope = '{MultiInstanceLoad.TaskId}'"));
        await AssertEveryAdmittedRequestHasItsRecordAsync(all);
    }

    [Fact]
    public async Task With_leases_a_steady_phase_with_headroom_costs_well_under_half_a_transaction_per_request_and_keeps_every_invariant()
    {
        _leases = true;
        _postgres = await TestPostgres.CreateOnSharedServerAsync();
        var (keyCap, taskCap) = (100_000 * MultiInstanceLoad.WorstCaseNano, 600 * MultiInstanceLoad.WorstCaseNano);
        await StartGatewaysAsync(keyCap);
        var load = new MultiInstanceLoad(Addresses(), _http, Usd(taskCap));
        await load.RunAsync(30, Clients);
        var before = await _postgres.TransactionsAsync();
        long transactions;
        await using (var sampler = CapSampler.Start(_postgres, new() { [KeyBudget] = keyCap, [TaskBudget] = taskCap }))
        {
            await load.RunAsync(1_500, Clients, firstRequest: 30);
            await sampler.StopAsync();
            Assert.True(sampler.Violations.IsEmpty, "spent + held above a cap: " + string.Join("; ", sampler.Violations));

            // Counted once the gateways stopped (their statistics are flushed then): this includes returning the leases.
            transactions = await SettledTransactionsAsync(before) - sampler.Samples;
        }

        var perRequest = (double)transactions / 1_500;
        _output.WriteLine(FormattableString.Invariant($"with leases, steady state with headroom: {transactions} PostgreSQL transactions for 1500 requests = {perRequest:F3} per request (lease reads, holds and settlements, usage batches, expiry passes)"));
        Assert.True(perRequest < 0.5, $"{perRequest} transactions per request");

        var all = load.Outcomes.ToArray();
        Assert.All(all, o => Assert.Equal(200, o.Status));
        var ledger = await LedgerAsync();
        Assert.Equal(0, ledger.OpenHolds);
        ledger.AssertConsistent(keyCap, taskCap);
        Assert.Equal(ledger.Spent[KeyBudget], await UsageCostAsync("key_id = 'swarm'"));
        Assert.Equal(ledger.Spent[TaskBudget], await UsageCostAsync($"task_scope = '{MultiInstanceLoad.TaskId}'"));
        await AssertEveryAdmittedRequestHasItsRecordAsync(all);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_instance_killed_mid_load_leaves_holds_that_expire_charged_once_and_the_invariants_hold(bool leases)
    {
        _leases = leases;
        _postgres = await TestPostgres.CreateOnSharedServerAsync();
        var (keyCap, taskCap) = (120 * MultiInstanceLoad.WorstCaseNano, 80 * MultiInstanceLoad.WorstCaseNano);
        await StartGatewaysAsync(keyCap);
        var load = new MultiInstanceLoad(Addresses(), _http, Usd(taskCap));
        const int Killed = 2;
        await using (var sampler = CapSampler.Start(_postgres, new() { [KeyBudget] = keyCap, [TaskBudget] = taskCap }))
        {
            var running = load.RunAsync(900, Clients);
            await WaitUntilAsync(() => load.Completed >= 250, "load to get going");
            await _gateways[Killed].KillAsync();
            await running;
            await sampler.StopAsync();
            Assert.True(sampler.Violations.IsEmpty, "spent + held above a cap: " + string.Join("; ", sampler.Violations));
        }

        var all = load.Outcomes.ToArray();
        Assert.Contains(all, o => o.Gateway == Killed && o.Status == 0);
        Assert.All(all.Where(o => o.Gateway != Killed), o => Assert.True(o.Status is 200 or 402, $"{o.Status} {o.Code}"));
        await _gateways[0].StopAsync();
        await _gateways[1].StopAsync();

        // The killed instance's holds outlive it until their TTL; the TTL is the upstream timeout + 60 s, longer than
        // this test may wait, so the expiry pass any instance runs every 5 s is run here with its clock past the TTL.
        var orphans = await _postgres.ScalarAsync("SELECT count(*) FROM ledger_holds WHERE state = 0");
        var expired = await ExpireAsync(TimeSpan.FromSeconds(UpstreamTimeoutSeconds + 61));
        Assert.Equal(orphans, expired);
        Assert.Equal(0, await ExpireAsync(TimeSpan.FromSeconds(UpstreamTimeoutSeconds + 61)));

        var ledger = await LedgerAsync();
        Assert.Equal(0, ledger.OpenHolds);
        ledger.AssertConsistent(keyCap, taskCap);

        // Every hold is charged once (its actual cost, or its worst case when it expired); the usage records of the
        // survivors match their holds exactly; what has no record is the killed instance's: in flight when it died,
        // or answered with its record still in the lost write buffer.
        var unrecorded = await _postgres.RowsAsync("SELECT hold_id, state FROM ledger_holds WHERE hold_id NOT IN (SELECT request_id FROM usage_records)");
        var answeredBySurvivors = all.Where(o => o.Gateway != Killed && o.RequestId is not null).Select(o => o.RequestId!).ToHashSet();
        var answeredByKilled = all.Where(o => o.Gateway == Killed && o.RequestId is not null).Select(o => o.RequestId!).ToHashSet();
        var cut = all.Count(o => o.Gateway == Killed && o.Status == 0);
        Assert.DoesNotContain(unrecorded, row => answeredBySurvivors.Contains((string)row[0]));
        Assert.True(unrecorded.Count(row => !answeredByKilled.Contains((string)row[0]) && !IsLease(row)) <= cut, "more unknown holds than requests cut by the kill");
        if (leases)
        {
            // The killed instance's leases expired charged in full: spend is never below the usage records, and above
            // them by no more than what its expired leases and holds held.
            var recorded = await UsageCostAsync("key_id = 'swarm'");
            var expiredHeld = await _postgres.ScalarAsync("SELECT COALESCE(SUM(amount_nano), 0) FROM ledger_holds WHERE state = 2");
            Assert.True(ledger.Spent[KeyBudget] >= recorded, $"spent {ledger.Spent[KeyBudget]} below the usage records {recorded}");
            Assert.True(ledger.Spent[KeyBudget] - recorded <= expiredHeld, "over-count beyond what the crash left held");

            // The crash bound (docs/design.md, "Leases"): every lease held at most min(lease_max_usd, headroom / 8) ≤
            // min($1, cap / 8); the killed instance left at most two per counter (the old one while renewing); so the
            // over-count is at most 2 × that per counter plus the worst cases of its requests in flight.
            var leaseRows = await _postgres.RowsAsync(
                "SELECT l.budget_id, h.amount_nano, h.state FROM ledger_holds h JOIN ledger_hold_lines l ON l.hold_id = h.hold_id WHERE h.hold_id LIKE 'lease:%'");
            var caps = new Dictionary<string, long> { [KeyBudget] = keyCap, [TaskBudget] = taskCap };
            var sizes = caps.ToDictionary(c => c.Key, c => Math.Min(1_000_000_000L, c.Value / 8));
            Assert.NotEmpty(leaseRows);
            Assert.All(leaseRows, row => Assert.True(Convert.ToInt64(row[1]) <= sizes[(string)row[0]], $"a lease of {row[1]} on {row[0]} above its size {sizes[(string)row[0]]}"));
            foreach (var (budget, size) in sizes)
            {
                var expiredLeases = leaseRows.Where(r => (string)r[0] == budget && Convert.ToInt64(r[2]) == 2).ToArray();
                Assert.True(expiredLeases.Length <= 2, $"{expiredLeases.Length} expired leases on {budget}");
            }

            var inFlight = await _postgres.ScalarAsync(
                $"SELECT COALESCE(SUM(h.amount_nano), 0) FROM ledger_holds h JOIN ledger_hold_lines l ON l.hold_id = h.hold_id WHERE h.state = 2 AND h.hold_id NOT LIKE 'lease:%' AND l.budget_id = '{KeyBudget}'");
            Assert.True(
                ledger.Spent[KeyBudget] - recorded <= (2 * sizes[KeyBudget]) + inFlight,
                $"over-count {ledger.Spent[KeyBudget] - recorded} above 2 × {sizes[KeyBudget]} + {inFlight} in flight");
            _output.WriteLine($"killed instance (leases): {orphans} holds and leases expired and charged in full; over-count {ledger.Spent[KeyBudget] - recorded} nano of {expiredHeld} expired; bound 2 × {sizes[KeyBudget]} + {inFlight} in flight");
            return;
        }

        Assert.Equal(
            ledger.Spent[KeyBudget],
            await UsageCostAsync("key_id = 'swarm'") + await _postgres.ScalarAsync(
                "SELECT COALESCE(SUM(CASE state WHEN 2 THEN amount_nano ELSE actual_nano END), 0) FROM ledger_holds WHERE hold_id NOT IN (SELECT request_id FROM usage_records)"));
        _output.WriteLine($"killed instance: {orphans} holds expired and charged in full, {unrecorded.Count} holds without a usage record, {cut} requests cut");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PostgreSQL_stopped_mid_load_fails_closed_with_503_and_service_resumes_without_a_restart(bool leases)
    {
        // With leases, small ones (a few worst cases) so that they run out during the outage and requests fail closed.
        _leases = leases;
        _leaseMax = leases ? 8 * MultiInstanceLoad.WorstCaseNano : null;
        _postgres = await TestPostgres.CreatePrivateClusterAsync();
        var keyCap = 5_000 * MultiInstanceLoad.WorstCaseNano;
        await StartGatewaysAsync(keyCap);
        var load = new MultiInstanceLoad(Addresses(), _http, Usd(keyCap));
        await load.RunAsync(150, Clients);

        var outage = load.RunAsync(900, Clients, firstRequest: 150);
        await WaitUntilAsync(() => load.Completed >= 300, "load to get going");
        await _postgres.StopServerAsync();
        var stoppedAt = load.Completed;
        await WaitUntilAsync(() => load.Outcomes.Count(o => o.Status == 503) >= 60 || outage.IsCompleted, "requests during the outage");
        await _postgres.StartServerAsync();
        await outage;

        var all = load.Outcomes.ToArray();
        var refused = all.Where(o => o.Status != 200).ToArray();
        Assert.True(refused.Length >= 60, $"only {refused.Length} requests failed while PostgreSQL was down");
        Assert.All(refused, o => Assert.True(o.Status == 503 && o.Code == "ledger_unavailable", $"{o.Status} {o.Code}"));

        // No gateway restart: the pools reconnect on their own.
        var resumed = await ResumeAsync(load);
        var after = new MultiInstanceLoad(Addresses(), _http, Usd(keyCap));
        await after.RunAsync(300, Clients);
        Assert.All(after.Outcomes, o => Assert.Equal(200, o.Status));

        await StopGatewaysAsync();

        // A reserve committed in the instant the server went down may have lost its answer: it is refused to the
        // caller and its hold expires, charged in full. Settlements that failed during the outage were retried.
        var orphans = await ExpireAsync(TimeSpan.FromSeconds(UpstreamTimeoutSeconds + 61));
        var ledger = await LedgerAsync();
        Assert.Equal(0, ledger.OpenHolds);
        ledger.AssertConsistent(keyCap, keyCap);
        var charged = await _postgres.ScalarAsync(
            "SELECT COALESCE(SUM(amount_nano), 0) FROM ledger_holds WHERE state = 2 AND hold_id NOT IN (SELECT request_id FROM usage_records)");
        Assert.Equal(ledger.Spent[KeyBudget], await UsageCostAsync("key_id = 'swarm'") + charged);
        Assert.Equal(ledger.Spent[TaskBudget], await UsageCostAsync($"task_scope = '{MultiInstanceLoad.TaskId}'") + charged);
        await AssertEveryAdmittedRequestHasItsRecordAsync([.. load.Outcomes, .. after.Outcomes]);
        Assert.Equal(0, await _postgres.ScalarAsync(
            "SELECT count(*) FROM ledger_holds h JOIN usage_records u ON u.request_id = h.hold_id WHERE h.state <> 1"));
        _output.WriteLine($"PostgreSQL stopped after {stoppedAt} requests: {refused.Length} answered 503 ledger_unavailable; service resumed after {resumed} more attempts; {orphans} orphaned holds charged in full");
    }

    [Fact]
    public async Task With_fail_open_PostgreSQL_stopped_serves_each_instance_up_to_its_local_cap_then_503_and_service_resumes()
    {
        const int LocalCapWorstCases = 3;
        _failOpenCap = LocalCapWorstCases * MultiInstanceLoad.WorstCaseNano;
        _postgres = await TestPostgres.CreatePrivateClusterAsync();
        var keyCap = 5_000 * MultiInstanceLoad.WorstCaseNano;
        await StartGatewaysAsync(keyCap);
        var load = new MultiInstanceLoad(Addresses(), _http, Usd(keyCap));
        await load.RunAsync(60, 6);
        Assert.All(load.Outcomes, o => Assert.Equal(200, o.Status));

        // The outage: far more requests per instance than its local cap can pay for.
        await _postgres.StopServerAsync();
        var outage = new MultiInstanceLoad(Addresses(), _http, Usd(keyCap));
        await outage.RunAsync(240, 6);
        await _postgres.StartServerAsync();

        var during = outage.Outcomes.ToArray();
        Assert.All(during, o => Assert.True(o.Status == 200 || (o.Status == 503 && o.Code == "ledger_unavailable"), $"{o.Status} {o.Code}"));
        foreach (var gateway in Enumerable.Range(0, Instances))
        {
            // Each request settles below its worst case, so at least the cap's worth of worst cases is served, then 503.
            var mine = during.Where(o => o.Gateway == gateway).ToArray();
            Assert.True(mine.Count(o => o.Status == 200) >= LocalCapWorstCases, $"gateway {gateway} served only {mine.Count(o => o.Status == 200)} during the outage");
            Assert.Contains(mine, o => o.Status == 503);
        }

        var resumed = await ResumeAsync(load);
        var after = new MultiInstanceLoad(Addresses(), _http, Usd(keyCap));
        await after.RunAsync(90, 6);
        Assert.All(after.Outcomes, o => Assert.Equal(200, o.Status));
        await StopGatewaysAsync();

        // The usage records of the outage's requests were written once PostgreSQL was back, marked fail_open; per
        // instance their cost never exceeds its local cap.
        var failOpen = (await _postgres.RowsAsync("SELECT request_id, cost_nano FROM usage_records WHERE degraded = 'fail_open'"))
            .ToDictionary(r => (string)r[0], r => Convert.ToInt64(r[1], CultureInfo.InvariantCulture));
        var servedDuring = during.Where(o => o.Status == 200).ToArray();
        Assert.Equal(servedDuring.Select(o => o.RequestId!).Order(StringComparer.Ordinal), failOpen.Keys.Order(StringComparer.Ordinal));
        foreach (var gateway in Enumerable.Range(0, Instances))
        {
            var spent = servedDuring.Where(o => o.Gateway == gateway).Sum(o => failOpen[o.RequestId!]);
            Assert.True(spent > 0 && spent <= _failOpenCap, $"gateway {gateway} spent {spent} nano fail-open, local cap {_failOpenCap}");
        }

        // The ledger never saw the fail-open spend: it holds nothing, and it matches the usage records without them.
        await ExpireAsync(TimeSpan.FromSeconds(UpstreamTimeoutSeconds + 61));
        var ledger = await LedgerAsync();
        Assert.Equal(0, ledger.OpenHolds);
        var charged = await _postgres.ScalarAsync(
            "SELECT COALESCE(SUM(amount_nano), 0) FROM ledger_holds WHERE state = 2 AND hold_id NOT IN (SELECT request_id FROM usage_records)");
        Assert.Equal(ledger.Spent[KeyBudget], await UsageCostAsync("key_id = 'swarm' AND degraded IS DISTINCT FROM 'fail_open'") + charged);
        _output.WriteLine($"fail-open outage: {servedDuring.Length} served against the local caps, {during.Length - servedDuring.Length} answered 503; service resumed after {resumed} attempts");
    }

    public async Task DisposeAsync()
    {
        foreach (var gateway in _gateways)
        {
            await gateway.DisposeAsync();
        }

        _http.Dispose();
        await _simulator.DisposeAsync();
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left behind in the temp directory: harmless.
        }
    }

    private static string Usd(long nano) => Money.FromNano(nano).ToString();

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 600 && !condition(); i++)
        {
            await Poll.NextAsync(50);
        }

        Assert.True(condition(), "timed out waiting for " + what);
    }

    private List<Uri> Addresses() => [.. _gateways.Select(g => g.BaseAddress)];

    private async Task StartGatewaysAsync(long keyCapNano)
    {
        var sim = _simulator.BaseAddress.AbsoluteUri.TrimEnd('/');
        var starts = new List<Task<GatewayProcess>>();
        for (var i = 0; i < Instances; i++)
        {
            var path = Path.Combine(_directory, $"purser-{i}.yaml");
            await File.WriteAllTextAsync(path, $$"""
                organization: acme
                server:
                  listen: http://127.0.0.1:0
                  upstream_timeout_seconds: {{UpstreamTimeoutSeconds}}
                storage:
                  sqlite_path: local-{{i}}.db
                  postgres: ${PURSER_MI_POSTGRES}
                  leases: {{(_leases ? "true" : "false")}}
                {{(_leaseMax is { } max ? "  lease_max_usd: " + Usd(max) : string.Empty)}}
                {{(_failOpenCap is { } local ? "  fail_open: { local_cap_usd: " + Usd(local) + " }" : string.Empty)}}
                providers:
                  sim: { kind: openai, base_url: "{{sim}}/v1", api_key: sim }
                models:
                  sim-chat: { provider: sim, upstream: "sim-chat~out=16,latency=2", price: { input: 0.5, output: 1.5 } }
                keys:
                  - { id: swarm, secret: {{MultiInstanceLoad.KeySecret}} }
                budgets:
                  - { id: {{KeyBudget}}, scope: "key:swarm", window: daily, cap_usd: {{Usd(keyCapNano)}} }
                """);
            var connection = new Npgsql.NpgsqlConnectionStringBuilder(_postgres!.ConnectionString) { MaxPoolSize = 20, Timeout = 3 }.ConnectionString;
            starts.Add(GatewayProcess.StartAsync(path, new Dictionary<string, string>
            {
                ["PURSER_MI_POSTGRES"] = connection,
            }));
        }

        _gateways.AddRange(await Task.WhenAll(starts));
    }

    private async Task StopGatewaysAsync()
    {
        await Task.WhenAll(_gateways.Where(g => !g.HasExited).Select(g => g.StopAsync()));
    }

    /// <summary>Sends one request to each instance until all are served again (bounded); returns how many rounds that took.</summary>
    private static async Task<int> ResumeAsync(MultiInstanceLoad load)
    {
        for (var attempt = 1; attempt <= 200; attempt++)
        {
            var outcomes = await Task.WhenAll(Enumerable.Range(0, Instances).Select(load.SendAsync));
            foreach (var outcome in outcomes)
            {
                load.Outcomes.Add(outcome);
            }

            if (outcomes.All(o => o.Status == 200))
            {
                return attempt;
            }

            Assert.All(outcomes, o => Assert.True(o.Status is 200 or 503, $"{o.Status} {o.Code}"));
            await Poll.NextAsync(50);
        }

        Assert.Fail("service did not resume after PostgreSQL restarted");
        return 0;
    }

    /// <summary>Transactions since <paramref name="before"/>, once the stopped gateways' statistics have been flushed.</summary>
    private async Task<long> SettledTransactionsAsync(long before)
    {
        await StopGatewaysAsync();
        var last = -1L;
        for (var i = 0; i < 20; i++)
        {
            var now = await _postgres!.TransactionsAsync();
            if (now == last)
            {
                break;
            }

            last = now;
            await Poll.NextAsync(250);
        }

        // The statistics reads themselves are transactions too (one each, plus this one).
        return last - before;
    }

    private async Task<int> ExpireAsync(TimeSpan ahead)
    {
        await using var database = PostgresDatabase.Open(_postgres!.ConnectionString);
        var ledger = new PostgresBudgetLedger(database);
        return await ledger.ExpireAsync(TimeProvider.System.GetUtcNow() + ahead, CancellationToken.None);
    }

    private Task<long> UsageCostAsync(string where) =>
        _postgres!.ScalarAsync("SELECT COALESCE(SUM(cost_nano), 0) FROM usage_records WHERE " + where);

    private async Task AssertEveryAdmittedRequestHasItsRecordAsync(IEnumerable<MultiInstanceLoad.Outcome> outcomes)
    {
        var recorded = (await _postgres!.RowsAsync("SELECT request_id FROM usage_records WHERE status = 200")).Select(r => (string)r[0]).ToHashSet();
        var admitted = outcomes.Where(o => o.Status == 200).Select(o => o.RequestId!).ToList();
        Assert.All(admitted, id => Assert.Contains(id, recorded));
        Assert.Equal(admitted.Count, recorded.Count);

        // Each usage record's cost is its hold's charge: nothing counted twice, nothing left out.
        Assert.Equal(0, await _postgres.ScalarAsync(
            "SELECT count(*) FROM usage_records u JOIN ledger_holds h ON h.hold_id = u.request_id WHERE u.cost_nano <> (CASE h.state WHEN 2 THEN h.amount_nano ELSE h.actual_nano END)"));
        if (!_leases)
        {
            // With leases most requests have no hold of their own: the per-counter equality (spent = usage records) covers them.
            Assert.Equal(0, await _postgres.ScalarAsync(
                "SELECT count(*) FROM usage_records WHERE cost_nano > 0 AND request_id NOT IN (SELECT hold_id FROM ledger_holds)"));
        }
    }

    private static bool IsLease(object[] row) => ((string)row[0]).StartsWith("lease:", StringComparison.Ordinal);

    private async Task<LedgerView> LedgerAsync()
    {
        var counters = await _postgres!.RowsAsync(
            """
            SELECT c.budget_id, c.window_key, c.spent_nano, c.held_nano,
                   (SELECT COALESCE(SUM(CASE h.state WHEN 2 THEN h.amount_nano ELSE h.actual_nano END), 0)::bigint
                      FROM ledger_hold_lines l JOIN ledger_holds h ON h.hold_id = l.hold_id
                     WHERE l.budget_id = c.budget_id AND l.window_key = c.window_key)
              FROM ledger_counters c ORDER BY 1, 2
            """);
        var open = await _postgres.ScalarAsync("SELECT count(*) FROM ledger_holds WHERE state = 0");
        return new LedgerView(counters, open);
    }

    private sealed class LedgerView(List<object[]> counters, long openHolds)
    {
        public long OpenHolds { get; } = openHolds;

        public Dictionary<string, long> Spent { get; } = counters.ToDictionary(r => (string)r[0], r => (long)r[2]);

        /// <summary>One window per budget; held 0; spent is the sum of its holds' charges and within its cap.</summary>
        public void AssertConsistent(long keyCap, long taskCap)
        {
            Assert.Equal([KeyBudget, TaskBudget], counters.Select(r => (string)r[0]).Order(StringComparer.Ordinal));
            foreach (var row in counters)
            {
                var (budget, spent, held, charged) = ((string)row[0], (long)row[2], (long)row[3], (long)row[4]);
                Assert.Equal(0, held);
                Assert.Equal(charged, spent);
                Assert.True(spent <= (budget == KeyBudget ? keyCap : taskCap), $"{budget} spent {spent} above its cap");
            }
        }
    }

    /// <summary>Reads every counter every 20 ms while the load runs and notes any spent + held above its cap.</summary>
    private sealed class CapSampler : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private int _samples;

        private CapSampler(TestPostgres postgres, Dictionary<string, long> caps)
        {
            _loop = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    try
                    {
                        Interlocked.Increment(ref _samples);
                        foreach (var row in await postgres.RowsAsync("SELECT budget_id, spent_nano, held_nano FROM ledger_counters"))
                        {
                            var (budget, spent, held) = ((string)row[0], (long)row[1], (long)row[2]);
                            if (caps.TryGetValue(budget, out var cap) && spent + held > cap)
                            {
                                Violations.Add(string.Create(CultureInfo.InvariantCulture, $"{budget}: {spent} + {held} > {cap}"));
                            }
                        }
                    }
                    catch (Npgsql.NpgsqlException)
                    {
                        // The server is down (the outage test): nothing to sample.
                    }

                    await Poll.NextAsync(20);
                }
            });
        }

        public ConcurrentBag<string> Violations { get; } = [];

        public int Samples => Volatile.Read(ref _samples);

        public static CapSampler Start(TestPostgres postgres, Dictionary<string, long> caps) => new(postgres, caps);

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await _loop;
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            _stop.Dispose();
        }
    }
}
