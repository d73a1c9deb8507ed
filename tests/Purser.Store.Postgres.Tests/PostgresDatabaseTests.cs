using System.Net;
using System.Net.Sockets;
using Npgsql;
using Purser.Budgets;

namespace Purser.Store.Postgres.Tests;

public sealed class PostgresDatabaseTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Expiry = new(2026, 11, 24, 12, 5, 0, TimeSpan.Zero);

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
    public async Task Open_creates_the_ledger_and_event_tables_and_records_each_migration_once()
    {
        var db = Open();

        Assert.Equal(PostgresSchema.Migrations.Count, db.SchemaVersion);
        Assert.Equal(PostgresSchema.Migrations.Count, await Schema.ScalarAsync("SELECT count(*) FROM schema_version;"));
        foreach (var table in (string[])["ledger_counters", "ledger_holds", "ledger_hold_lines", "events"])
        {
            Assert.Equal(1, await Schema.ScalarAsync(
                $"SELECT count(*) FROM information_schema.tables WHERE table_schema = '{Schema.Name}' AND table_name = '{table}';"));
        }
    }

    [Fact]
    public async Task Opening_an_up_to_date_schema_again_changes_nothing()
    {
        Open();
        await Schema.ExecuteAsync("INSERT INTO ledger_counters (budget_id, window_key, spent_nano) VALUES ('b', 'lifetime', 42);");

        var again = Open();

        Assert.Equal(PostgresSchema.Migrations.Count, again.SchemaVersion);
        Assert.Equal(PostgresSchema.Migrations.Count, await Schema.ScalarAsync("SELECT count(*) FROM schema_version;"));
        Assert.Equal(42, await Schema.ScalarAsync("SELECT spent_nano FROM ledger_counters;"));
    }

    [Fact]
    public async Task Eight_instances_opening_a_new_schema_at_once_all_succeed_and_apply_each_step_once()
    {
        using var start = new Barrier(8);
        var opens = new Task<PostgresDatabase>[8];
        for (var i = 0; i < opens.Length; i++)
        {
            opens[i] = Task.Factory.StartNew(
                () =>
                {
                    start.SignalAndWait(TimeSpan.FromSeconds(30));
                    return PostgresDatabase.Open(Schema.ConnectionString);
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
        }

        var databases = await Task.WhenAll(opens).WaitAsync(TimeSpan.FromSeconds(60), TimeProvider.System);
        _databases.AddRange(databases);

        Assert.All(databases, db => Assert.Equal(PostgresSchema.Migrations.Count, db.SchemaVersion));
        Assert.Equal(PostgresSchema.Migrations.Count, await Schema.ScalarAsync("SELECT count(*) FROM schema_version;"));
    }

    [Fact]
    public async Task A_later_migration_step_is_applied_on_the_next_open()
    {
        Open();
        var next = new List<string>(PostgresSchema.Migrations) { "CREATE TABLE extra (id integer PRIMARY KEY);" };

        var db = PostgresDatabase.Open(Schema.ConnectionString, next);
        _databases.Add(db);

        Assert.Equal(next.Count, db.SchemaVersion);
        Assert.Equal(next.Count, await Schema.ScalarAsync("SELECT MAX(version) FROM schema_version;"));
        Assert.Equal(0, await Schema.ScalarAsync("SELECT count(*) FROM extra;"));
    }

    [Fact]
    public async Task A_schema_written_by_a_newer_Purser_is_refused()
    {
        Open();
        await Schema.ExecuteAsync("INSERT INTO schema_version (version) VALUES (999);");

        var error = Assert.Throws<InvalidOperationException>(() => Open());

        Assert.Contains("newer Purser", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_search_path_naming_no_schema_is_a_clear_error()
    {
        var builder = new NpgsqlConnectionStringBuilder(TestSchema.ServerConnectionString) { SearchPath = "no_such_schema_" + Guid.NewGuid().ToString("N") };

        var error = Assert.Throws<InvalidOperationException>(() => PostgresDatabase.Open(builder.ConnectionString));

        Assert.Contains("search path", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unreachable_server_is_LedgerUnavailableException_not_a_bug()
    {
        // A port that was just free: nothing listens there, so the connection is refused.
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
        }

        var error = Assert.Throws<LedgerUnavailableException>(() => PostgresDatabase.Open($"Host=127.0.0.1;Port={port};Username=purser;Timeout=5"));

        Assert.IsAssignableFrom<NpgsqlException>(error.InnerException);
    }

    [Fact]
    public async Task A_ledger_whose_connections_the_server_kills_throws_LedgerUnavailableException_then_recovers_by_itself()
    {
        var application = "purser-" + Guid.NewGuid().ToString("N");
        var db = PostgresDatabase.Open(new NpgsqlConnectionStringBuilder(Schema.ConnectionString) { ApplicationName = application }.ConnectionString);
        _databases.Add(db);
        var ledger = new Purser.Store.Postgres.Ledger.PostgresBudgetLedger(db);
        var line = new HoldLine(new CounterKey("b", "lifetime"), new Purser.Pricing.Money(1_000), null, AccountingMode.Reserve, Enforcement.Hard);
        Assert.True((await ledger.ReserveAsync(new HoldRequest("h1", [line], new Purser.Pricing.Money(10), 1, Expiry), default)).Granted);

        // The pooled connection's backend goes away, as on a server restart or a failover.
        // MATERIALIZED: the victims are chosen before any is terminated, never this connection or another test's.
        Assert.True(await Schema.ScalarAsync(
            $"WITH victims AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE application_name = '{application}') "
            + "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM victims;") >= 1);

        await Assert.ThrowsAsync<LedgerUnavailableException>(async () => await ledger.ReserveAsync(new HoldRequest("h2", [line], new Purser.Pricing.Money(10), 1, Expiry), default));
        Assert.True((await ledger.ReserveAsync(new HoldRequest("h3", [line], new Purser.Pricing.Money(10), 1, Expiry), default)).Granted);
        Assert.Equal(20, (await ledger.ReadAsync([line.Counter], default))[0].Held.NanoUsd);
    }

    private PostgresDatabase Open()
    {
        var db = PostgresDatabase.Open(Schema.ConnectionString);
        _databases.Add(db);
        return db;
    }
}
