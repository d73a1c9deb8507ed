using Npgsql;
using Purser.Budgets;
using Purser.Pricing;
using Purser.Store.Postgres;
using Purser.Store.Postgres.Ledger;

namespace Purser.Bench.Scale;

/// <summary>
/// One scale run: N gateway ledgers (<see cref="ScaleInstance"/>) on one PostgreSQL schema of their own, sharing a key,
/// a team and an org budget in reserve mode, driven by <c>instances × concurrency</c> request loops until the count or
/// the time bound: each request reserves its worst case on one instance, waits its upstream time, and settles its actual
/// cost there. The shadow account judges every refusal; at the end every instance is shut down (leases returned) and the
/// counters are read back from the database.
/// </summary>
internal static class ScaleRun
{
    private const byte GrantedMark = 1;
    private const byte RefusedMark = 2;
    private const byte FalseRefusalMark = 3;
    private const byte UnavailableMark = 4;
    private static readonly TimeSpan HoldTtl = TimeSpan.FromMinutes(10);

    public static async Task<ScaleResult> RunAsync(ScaleOptions options, TimeProvider time, TextWriter log)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Instances, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Requests, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ConcurrencyPerInstance, 1);
        var schema = "scale_" + Guid.NewGuid().ToString("N")[..12];
        var monitor = await DatabaseMonitor.OpenAsync(options.ConnectionString).ConfigureAwait(false);
        await using (monitor.ConfigureAwait(false))
        {
            await monitor.ExecuteAsync($"CREATE SCHEMA {schema};").ConfigureAwait(false);
            try
            {
                return await RunInSchemaAsync(options, schema, monitor, time, log).ConfigureAwait(false);
            }
            finally
            {
                await monitor.ExecuteAsync($"DROP SCHEMA IF EXISTS {schema} CASCADE;").ConfigureAwait(false);
            }
        }
    }

    private static async Task<ScaleResult> RunInSchemaAsync(ScaleOptions options, string schema, DatabaseMonitor monitor, TimeProvider time, TextWriter log)
    {
        var plan = ScalePlan.Create(options);
        var connectionString = new NpgsqlConnectionStringBuilder(options.ConnectionString) { SearchPath = schema, MaxPoolSize = options.PoolSize }.ConnectionString;
        var loops = options.Instances * options.ConcurrencyPerInstance;
        var shadow = new ShadowAccount(plan.KeyCap, options.WorstMax.NanoUsd, options.Requests, startRequests: Math.Min(options.Requests / 10, 10 * loops));
        var calls = new long[Enum.GetValues<ScalePhase>().Length * 3];
        var window = BudgetWindows.Current(BudgetWindowKind.Daily, TimeZoneInfo.Utc, time.GetUtcNow()).Key;
        var lines = plan.Lines(window);

        var instances = new ScaleInstance[options.Instances];
        for (var i = 0; i < instances.Length; i++)
        {
            instances[i] = ScaleInstance.Open(connectionString, i, options, shadow, calls, time);
        }

        var before = await monitor.ReadSettledAsync(time).ConfigureAwait(false);
        var monitorBefore = monitor.Statements;
        log.WriteLine($"scale: {options.Instances} instances, up to {options.Requests} requests or {options.Duration.TotalSeconds} s, key cap {new Money(plan.KeyCap)}");

        var run = new RunState(options, plan, shadow, lines, time, schema);
        long peak = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, await monitor.ConnectionsAsync().ConfigureAwait(false));
                await Task.Delay(TimeSpan.FromSeconds(1), time, sampling.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        });

        var started = time.GetTimestamp();
        using var stop = new CancellationTokenSource(options.Duration, time);
        run.Started(started);
        var tasks = new List<Task>();
        foreach (var instance in instances)
        {
            for (var c = 0; c < options.ConcurrencyPerInstance; c++)
            {
                tasks.Add(Task.Run(() => run.LoopAsync(instance.Ledger, stop.Token)));
            }
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
        var ended = time.GetTimestamp();
        var seconds = time.GetElapsedTime(started, ended).TotalSeconds;
        var loadCalls = (long[])calls.Clone();
        await sampling.CancelAsync().ConfigureAwait(false);
        await sampler.ConfigureAwait(false);

        foreach (var instance in instances)
        {
            await instance.DisposeAsync().ConfigureAwait(false);
        }

        var after = await monitor.ReadSettledAsync(time).ConfigureAwait(false);
        var transactions = after.Transactions - before.Transactions - (monitor.Statements - monitorBefore);
        var counters = await ReadCountersAsync(connectionString, lines).ConfigureAwait(false);
        var openHolds = await monitor.ScalarAsync($"SELECT count(*) FROM {schema}.ledger_holds WHERE state = 0;").ConfigureAwait(false);

        return new ScaleResult
        {
            Instances = options.Instances,
            Requests = run.Count,
            Seconds = seconds,
            Phases = run.Phases(loadCalls, ended),
            ShutdownCalls = calls.Sum() - loadCalls.Sum(),
            Transactions = transactions,
            RowsWritten = after.RowsWritten - before.RowsWritten,
            PeakConnections = peak - 1,
            KeyCap = plan.KeyCap,
            ShadowSpent = shadow.Spent,
            Counters = counters,
            OpenHolds = openHolds,
            RetriedSettlements = run.RetriedSettlements,
        };
    }

    private static async Task<IReadOnlyList<(string Budget, long Cap, long Spent, long Held)>> ReadCountersAsync(string connectionString, HoldLine[] lines)
    {
        var database = PostgresDatabase.Open(connectionString);
        await using (database.ConfigureAwait(false))
        {
            var states = await new PostgresBudgetLedger(database).ReadAsync(lines.Select(l => l.Counter).ToArray(), CancellationToken.None).ConfigureAwait(false);
            var counters = new List<(string, long, long, long)>();
            for (var i = 0; i < lines.Length; i++)
            {
                counters.Add((lines[i].Counter.BudgetId, lines[i].CapUsd!.Value.NanoUsd, states[i].Spent.NanoUsd, states[i].Held.NanoUsd));
            }

            return counters;
        }
    }

    /// <summary>The requests of one run: what each loop draws, and what happened to each.</summary>
    private sealed class RunState
    {
        private readonly ScaleOptions _options;
        private readonly ScalePlan _plan;
        private readonly ShadowAccount _shadow;
        private readonly HoldLine[] _lines;
        private readonly TimeProvider _time;
        private readonly string _prefix;
        private readonly long[] _latency;
        private readonly byte[] _phase;
        private readonly byte[] _outcome;
        private int _next = -1;
        private int _retriedSettlements;
        private readonly long[] _phaseStarted = new long[Enum.GetValues<ScalePhase>().Length];

        public RunState(ScaleOptions options, ScalePlan plan, ShadowAccount shadow, HoldLine[] lines, TimeProvider time, string prefix)
        {
            _options = options;
            _plan = plan;
            _shadow = shadow;
            _lines = lines;
            _time = time;
            _prefix = prefix + ":";
            _latency = new long[options.Requests];
            _phase = new byte[options.Requests];
            _outcome = new byte[options.Requests];
        }

        /// <summary>Requests started (each one finished: a loop stops only between requests).</summary>
        public int Count => Math.Min(Volatile.Read(ref _next) + 1, _options.Requests);

        /// <summary>Settlements the database did not take at once (retried in the background, as in the gateway).</summary>
        public int RetriedSettlements => Volatile.Read(ref _retriedSettlements);

        public void Started(long timestamp) => _phaseStarted[0] = timestamp;

        public async Task LoopAsync(LeasedBudgetLedger ledger, CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                var i = Interlocked.Increment(ref _next);
                if (i >= _options.Requests)
                {
                    return;
                }

                var worst = _plan.Worst[i];
                var (mark, phase) = _shadow.Begin(worst);
                _phase[i] = (byte)phase;
                if (Volatile.Read(ref _phaseStarted[(int)phase]) == 0)
                {
                    Interlocked.CompareExchange(ref _phaseStarted[(int)phase], _time.GetTimestamp(), 0);
                }
                var id = _prefix + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                var request = new HoldRequest(id, _lines, new Money(worst), 0, _time.GetUtcNow() + HoldTtl);

                // Started and finished whatever the time bound says: every admission is settled or refused.
                var started = _time.GetTimestamp();
                HoldOutcome outcome;
                try
                {
                    outcome = await ledger.ReserveAsync(request, CancellationToken.None).ConfigureAwait(false);
                }
                catch (LedgerUnavailableException)
                {
                    // The gateway fails closed (503): nothing was held. Counted apart from refusals (a pool wait timed out).
                    _latency[i] = _time.GetTimestamp() - started;
                    _shadow.Unavailable(worst);
                    _outcome[i] = UnavailableMark;
                    continue;
                }

                _latency[i] = _time.GetTimestamp() - started;
                if (!outcome.Granted)
                {
                    _outcome[i] = _shadow.Refused(mark, worst) ? FalseRefusalMark : RefusedMark;
                    continue;
                }

                _shadow.Granted(worst);
                _outcome[i] = GrantedMark;
                if (_plan.UpstreamMicros[i] > 0)
                {
                    await Task.Delay(TimeSpan.FromMicroseconds(_plan.UpstreamMicros[i]), _time).ConfigureAwait(false);
                }

                try
                {
                    await ledger.SettleAsync(id, new Money(_plan.Actual[i]), 0, CancellationToken.None).ConfigureAwait(false);
                }
                catch (LedgerUnavailableException)
                {
                    // As in the gateway: SettlementRetry took it and settles it before the instance closes.
                    Interlocked.Increment(ref _retriedSettlements);
                }

                _shadow.Settled(worst, _plan.Actual[i]);
            }
        }

        public IReadOnlyList<PhaseResult> Phases(long[] calls, long ended)
        {
            var results = new List<PhaseResult>();
            var count = Count;
            foreach (var phase in Enum.GetValues<ScalePhase>())
            {
                var latencies = new List<long>();
                int granted = 0, refused = 0, falseRefusals = 0, unavailable = 0;
                for (var i = 0; i < count; i++)
                {
                    if (_phase[i] != (byte)phase)
                    {
                        continue;
                    }

                    latencies.Add(_latency[i]);
                    granted += _outcome[i] == GrantedMark ? 1 : 0;
                    refused += _outcome[i] is RefusedMark or FalseRefusalMark ? 1 : 0;
                    falseRefusals += _outcome[i] == FalseRefusalMark ? 1 : 0;
                    unavailable += _outcome[i] == UnavailableMark ? 1 : 0;
                }

                latencies.Sort();
                results.Add(new PhaseResult(
                    phase, latencies.Count, granted, refused, falseRefusals, unavailable,
                    calls[CountingLedger.Slot(phase, CallKind.Lease)], calls[CountingLedger.Slot(phase, CallKind.Request)], calls[CountingLedger.Slot(phase, CallKind.Sweep)],
                    PhaseSeconds(phase, ended), Micros(latencies, 0.50), Micros(latencies, 0.99)));
            }

            return results;
        }

        /// <summary>From the phase's first request to the next phase's (or the end of the load); 0 when it never began.</summary>
        private double PhaseSeconds(ScalePhase phase, long ended)
        {
            var start = _phaseStarted[(int)phase];
            if (start == 0)
            {
                return 0;
            }

            var end = ended;
            for (var next = (int)phase + 1; next < _phaseStarted.Length; next++)
            {
                if (_phaseStarted[next] != 0)
                {
                    end = _phaseStarted[next];
                    break;
                }
            }

            return _time.GetElapsedTime(start, end).TotalSeconds;
        }

        private double Micros(List<long> sorted, double quantile) =>
            sorted.Count == 0 ? 0 : sorted[(int)Math.Min(sorted.Count - 1, Math.Ceiling(quantile * sorted.Count) - 1)] * 1e6 / _time.TimestampFrequency;
    }
}
