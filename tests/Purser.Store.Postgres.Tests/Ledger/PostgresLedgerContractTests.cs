using Purser.Budgets;
using Purser.Ledger.Contract;
using Purser.Store.Postgres.Ledger;

namespace Purser.Store.Postgres.Tests.Ledger;

/// <summary>The ledger contract, each test on a fresh schema of the test server.</summary>
public sealed class PostgresLedgerContractTests : LedgerContractTests, IAsyncLifetime
{
    private readonly List<PostgresDatabase> _databases = [];
    private readonly List<TestSchema> _schemas = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var db in _databases)
        {
            await db.DisposeAsync();
        }

        foreach (var schema in _schemas)
        {
            await schema.DisposeAsync();
        }
    }

    protected override async Task<IBudgetLedger> CreateLedgerAsync()
    {
        var schema = await TestSchema.CreateAsync();
        _schemas.Add(schema);
        var db = PostgresDatabase.Open(schema.ConnectionString);
        _databases.Add(db);
        return new PostgresBudgetLedger(db);
    }
}
