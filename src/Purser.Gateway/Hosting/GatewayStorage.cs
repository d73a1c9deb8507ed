using System.Runtime.CompilerServices;
using Purser.Admin;
using Purser.Bedtime;
using Purser.Budgets;
using Purser.Budgets.Reservations;
using Purser.Configuration;
using Purser.Dashboard;
using Purser.Events;
using Purser.Events.Webhooks;
using Purser.Store.Postgres;
using Purser.Store.Postgres.Admin;
using Purser.Store.Postgres.Bedtime;
using Purser.Store.Postgres.Changes;
using Purser.Store.Postgres.Dashboard;
using Purser.Store.Postgres.Events;
using Purser.Store.Postgres.Ledger;
using Purser.Store.Postgres.Usage;
using Purser.Store.Postgres.Webhooks;
using Purser.Store.Sqlite;
using Purser.Store.Sqlite.Admin;
using Purser.Store.Sqlite.Bedtime;
using Purser.Store.Sqlite.Dashboard;
using Purser.Store.Sqlite.Ledger;
using Purser.Store.Sqlite.Webhooks;
using Purser.Usage;

namespace Purser.Gateway.Hosting;

/// <summary>
/// The gateway's stores, from <c>storage:</c>. By default everything is in the embedded SQLite file (one instance).
/// With <c>storage.postgres</c> the ledger, usage records, keys, budgets, events, Bedtime policies and the dashboard's key
/// ring and sessions are in the shared PostgreSQL database, so every instance sees one cost view, and operators' changes
/// are announced to every instance (<see cref="Changes"/>); webhooks stay in the instance's own SQLite file (their
/// fan-out cursor is not multi-instance yet). With <c>storage.leases</c> (the default with either store; <c>leases: false</c>
/// opts out to per-request holds) the ledger is a <see cref="LeasedBudgetLedger"/> in front of either store's ledger.
/// </summary>
internal sealed class GatewayStorage : IAsyncDisposable
{
    private readonly IAsyncDisposable _usage;
    private readonly IAsyncDisposable? _settlements;
    private readonly IAsyncDisposable? _leases;
    private readonly IDisposable? _sqliteLedger;
    // Typed as the interface: a field of the PostgreSQL type would load its assembly in every gateway.
    private readonly IAsyncDisposable? _postgres;
    private readonly Lock _stopGate = new();
    private Task? _stopped;

    private GatewayStorage(
        IAdminStore admin,
        IUsageSink sink,
        IUsageStore usage,
        IUsageExport export,
        IUsageRollups rollups,
        IUsageRetention retention,
        IAsyncDisposable usageLifetime,
        IEventStore events,
        IBudgetLedger ledger,
        LeasedBudgetLedger? leases,
        IBedtimeStore bedtime,
        ISpendHistory spendHistory,
        IWebhookStore webhooks,
        IAsyncDisposable? settlements,
        IDisposable? sqliteLedger,
        IAsyncDisposable? postgres,
        IDashboardStore dashboard,
        IChangeFeed? changes = null)
    {
        Dashboard = dashboard;
        Changes = changes;
        Admin = admin;
        Sink = sink;
        Usage = usage;
        Export = export;
        Rollups = rollups;
        Retention = retention;
        _usage = usageLifetime;
        Events = events;
        Ledger = (IBudgetLedger?)leases ?? ledger;
        _leases = leases;
        Bedtime = bedtime;
        SpendHistory = spendHistory;
        Webhooks = webhooks;
        _settlements = settlements;
        _sqliteLedger = sqliteLedger;
        _postgres = postgres;
    }

    public IAdminStore Admin { get; }

    public IUsageSink Sink { get; }

    public IUsageStore Usage { get; }

    public IUsageExport Export { get; }

    public IUsageRollups Rollups { get; }

    public IUsageRetention Retention { get; }

    public IEventStore Events { get; }

    public IBudgetLedger Ledger { get; }

    public IBedtimeStore Bedtime { get; }

    public ISpendHistory SpendHistory { get; }

    public IWebhookStore Webhooks { get; }

    /// <summary>The dashboard's key ring and sessions: in PostgreSQL when it is configured, so every instance shares them.</summary>
    public IDashboardStore Dashboard { get; }

    /// <summary>Announces operators' changes to the other instances: PostgreSQL only (null with SQLite alone).</summary>
    public IChangeFeed? Changes { get; }

    /// <summary>Task scopes, in the same database as the budgets.</summary>
    public required ITaskScopeStore Tasks { get; init; }

    /// <summary>Rate limits from the admin API, and the token buckets instances share (issue 15).</summary>
    public required Purser.RateLimits.IRateLimitStore RateLimits { get; init; }
    /// <summary>The Responses API's response id → provider memory, in the same database.</summary>
    public required Purser.Responses.IResponseRouteStore ResponseRoutes { get; init; }

    /// <summary>Starts the stores' background loops: the usage writer, the settlement retry, the lease flush.</summary>
    private Action StartAll { get; init; } = static () => { };

    /// <summary>
    /// Opens (and migrates) the configured stores; their background loops start with <see cref="StartLoops"/>.
    /// <paramref name="onUsageError"/> hears failed usage batches, <paramref name="onLoopError"/> any other loop's failure
    /// (the loop's name and the error).
    /// </summary>
    public static GatewayStorage Open(StorageConfig storage, TimeProvider time, Action<Exception> onUsageError, Action<string, Exception> onLoopError)
    {
        if (storage.Postgres is not { } connectionString)
        {
            var sqlite = SqliteDatabase.Open(storage.SqlitePath);
            var store = new SqliteUsageStore(sqlite, new SqliteStoreOptions { Path = storage.SqlitePath, OnError = onUsageError }, time);
            var ledger = new SqliteBudgetLedger(sqlite);
            var leased = Leased(storage, ledger, time, onLoopError);
            return new GatewayStorage(
                new SqliteAdminStore(sqlite, time), store, store, store, store, store, store, new SqliteEventStore(sqlite, time), ledger, leased,
                new SqliteBedtimeStore(sqlite, time), new SqliteSpendHistory(sqlite), new SqliteWebhookStore(sqlite), null, ledger, null,
                new SqliteDashboardStore(sqlite))
            {
                StartAll = () =>
                {
                    store.Start();
                    leased?.Start();
                },
                Tasks = new SqliteTaskScopeStore(sqlite, time),
                RateLimits = new Purser.Store.Sqlite.RateLimits.SqliteRateLimitStore(sqlite),
                ResponseRoutes = new Purser.Store.Sqlite.Responses.SqliteResponseRouteStore(sqlite),
            };
        }

        return OpenPostgres(connectionString, storage, time, onUsageError, onLoopError);
    }

    // A method of its own so that a SQLite-only gateway never loads the PostgreSQL store's assemblies: compiling Open
    // would otherwise load them for the branch it does not take.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static GatewayStorage OpenPostgres(string connectionString, StorageConfig storage, TimeProvider time, Action<Exception> onUsageError, Action<string, Exception> onLoopError)
    {
        // Fails start-up when the server is unreachable: an instance that never saw the schema has nothing to serve. No
        // SQLite file is opened: every store, webhooks included, is in the shared database.
        var postgres = PostgresDatabase.Open(connectionString);
        var usage = new PostgresUsageStore(postgres, onUsageError, time);
        var settlements = new SettlementRetry(new PostgresBudgetLedger(postgres), time, ex => onLoopError(nameof(SettlementRetry), ex));
        var leased = Leased(storage, settlements, time, onLoopError);
        return new GatewayStorage(
            new PostgresAdminStore(postgres, time), usage, usage, usage, usage, usage, usage, new PostgresEventStore(postgres, time), settlements, leased,
            new PostgresBedtimeStore(postgres, time), new PostgresSpendHistory(postgres), new PostgresWebhookStore(postgres), settlements, null, postgres,
            new PostgresDashboardStore(postgres), new PostgresChangeFeed(postgres, "purser-listener-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)))
        {
            StartAll = () =>
            {
                usage.Start();
                settlements.Start();
                leased?.Start();
            },
            Tasks = new PostgresTaskScopeStore(postgres, time),
            RateLimits = new Purser.Store.Postgres.RateLimits.PostgresRateLimitStore(postgres),
            ResponseRoutes = new Purser.Store.Postgres.Responses.PostgresResponseRouteStore(postgres),
        };
    }

    /// <summary>
    /// The same decorator over either store's ledger. Over SQLite it turns two write transactions per request (reserve,
    /// settle) into a few per lease, which is what bounded a single instance's throughput.
    /// </summary>
    private static LeasedBudgetLedger? Leased(StorageConfig storage, IBudgetLedger ledger, TimeProvider time, Action<string, Exception> onLoopError) =>
        storage.Leases ? new LeasedBudgetLedger(ledger, Leases(storage), time, ex => onLoopError(nameof(LeasedBudgetLedger), ex)) : null;

    private static LeaseOptions Leases(StorageConfig storage) =>
        storage.LeaseMax is { } max ? new LeaseOptions { InstanceId = InstanceId(), MaxLease = max } : new LeaseOptions { InstanceId = InstanceId() };

    /// <summary>Names this process's lease holds in the ledger (host, process and a random part, as restarts reuse pids).</summary>
    private static string InstanceId() =>
        Environment.MachineName + "-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..6];

    public void Register(IServiceCollection services)
    {
        services.AddSingleton(Sink);
        services.AddSingleton(Usage);
        services.AddSingleton(Export);
        services.AddSingleton(Rollups);
        services.AddSingleton(Retention);
        services.AddSingleton(Admin);
        services.AddSingleton(Tasks);
        services.AddSingleton(RateLimits);
        services.AddSingleton(ResponseRoutes);
        services.AddSingleton(Events);
        services.AddSingleton(Ledger);
        services.AddSingleton((IReservationLedger)Ledger);
        services.AddSingleton(Bedtime);
        services.AddSingleton(SpendHistory);
        services.AddSingleton(Webhooks);
        services.AddSingleton(Dashboard);
        if (Changes is not null)
        {
            services.AddSingleton(Changes);
        }
    }

    /// <summary>Starts the stores' background loops (<c>BackgroundLoops</c> calls it when the host starts). Idempotent.</summary>
    public void StartLoops() => StartAll();

    /// <summary>
    /// Stops the loops in order, draining each: the usage records still queued are written, then the leases are returned
    /// into the ledger below, then the settlements still pending get their last bounded try. Idempotent: the host's stop
    /// (<c>BackgroundLoops</c>) and <see cref="DisposeAsync"/> both call it, and both await the one drain (a host stop that
    /// timed out leaves it running; the disposal waits for it before closing the databases).
    /// </summary>
    public Task StopLoopsAsync()
    {
        lock (_stopGate)
        {
            return _stopped ??= StopLoopsOnceAsync();
        }
    }

    private async Task StopLoopsOnceAsync()
    {
        await _usage.DisposeAsync().ConfigureAwait(false);

        // Leases first: returning them settles into the ledger below (the retrying PostgreSQL one, which then drains, or
        // the SQLite one, which must still be open).
        if (_leases is not null)
        {
            await _leases.DisposeAsync().ConfigureAwait(false);
        }

        if (_settlements is not null)
        {
            await _settlements.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Drains the loops (<see cref="StopLoopsAsync"/>, if the host's stop did not), then closes the databases.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopLoopsAsync().ConfigureAwait(false);
        _sqliteLedger?.Dispose();
        if (Changes is IAsyncDisposable changes)
        {
            await changes.DisposeAsync().ConfigureAwait(false);
        }

        if (_postgres is not null)
        {
            await _postgres.DisposeAsync().ConfigureAwait(false);
        }
    }
}
