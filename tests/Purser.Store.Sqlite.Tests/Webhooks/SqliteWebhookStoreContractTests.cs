using Purser.Events;
using Purser.Events.Webhooks;
using Purser.Ledger.Contract;
using Purser.Store.Sqlite.Admin;
using Purser.Store.Sqlite.Webhooks;

namespace Purser.Store.Sqlite.Tests.Webhooks;

/// <summary>The webhook store contract on a SQLite file; each open is a fresh open of the same file.</summary>
public sealed class SqliteWebhookStoreContractTests : WebhookStoreContractTests, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    protected override IWebhookStore OpenWebhooks() => new SqliteWebhookStore(Open());

    protected override IEventStore OpenEvents() => new SqliteEventStore(Open(), Time);

    // A new pool too, so "another instance" does not share a cached connection with the first.
    private SqliteDatabase Open()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        return SqliteDatabase.Open(_dir.File("webhooks.db"));
    }
}
