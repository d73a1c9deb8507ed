using Microsoft.Data.Sqlite;
using Purser.Events;
using Purser.Events.Webhooks;

namespace Purser.Store.Sqlite.Webhooks;

/// <summary>
/// Webhook endpoints and the durable delivery queue. Fan-out reads the event log past a stored cursor (events.rowid)
/// inside one write transaction, so every event becomes exactly one delivery per endpoint, whichever instance or
/// restart does it; UNIQUE (endpoint_id, event_id) backs that up.
/// </summary>
public sealed class SqliteWebhookStore : IWebhookStore
{
    private const string DeliveryColumns = "id, endpoint_id, event_id, event_type, body, attempts, next_attempt_ms, state, last_status, last_error";

    private readonly SqliteDatabase _database;

    public SqliteWebhookStore(SqliteDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
    }

    public async Task<IReadOnlyList<WebhookEndpoint>> ListEndpointsAsync(CancellationToken ct)
    {
        using var connection = _database.OpenConnection();
        return await ListEndpointsAsync(connection, null, ct).ConfigureAwait(false);
    }

    public async Task CreateEndpointAsync(WebhookEndpoint endpoint, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO webhook_endpoints (id, url, secret, event_types, created_at) VALUES ($id, $url, $secret, $types, $created);";
        command.Parameters.AddWithValue("$id", endpoint.Id);
        command.Parameters.AddWithValue("$url", endpoint.Url.AbsoluteUri);
        command.Parameters.AddWithValue("$secret", endpoint.Secret);
        command.Parameters.AddWithValue("$types", string.Join(',', endpoint.EventTypes));
        command.Parameters.AddWithValue("$created", endpoint.CreatedAt.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<bool> DeleteEndpointAsync(string id, CancellationToken ct)
    {
        using var connection = _database.OpenConnection();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;

        // Its pending deliveries go with it; delivered and failed ones are history and go too (they name a gone endpoint).
        command.CommandText = "DELETE FROM webhook_deliveries WHERE endpoint_id = $id; DELETE FROM webhook_endpoints WHERE id = $id;";
        command.Parameters.AddWithValue("$id", id);
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        using var check = connection.CreateCommand();
        check.Transaction = transaction;
        check.CommandText = "SELECT changes();";
        var removed = Convert.ToInt64(await check.ExecuteScalarAsync(ct).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) == 1;
        await transaction.CommitAsync(ct).ConfigureAwait(false);
        return removed;
    }

    public async Task<int> FanOutAsync(Func<GatewayEvent, string> body, DateTimeOffset now, int batch, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(body);
        using var connection = _database.OpenConnection();
        using var transaction = connection.BeginTransaction();
        long cursor;
        using (var read = connection.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = "SELECT last_rowid FROM webhook_cursor WHERE id = 1;";
            cursor = Convert.ToInt64(await read.ExecuteScalarAsync(ct).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        }

        var events = new List<(long RowId, GatewayEvent Event)>();
        using (var read = connection.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = "SELECT rowid, id, timestamp, type, scope, budget_id, window_key, request_id, message, data_json FROM events WHERE rowid > $cursor ORDER BY rowid LIMIT $batch;";
            read.Parameters.AddWithValue("$cursor", cursor);
            read.Parameters.AddWithValue("$batch", batch);
            using var reader = await read.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                events.Add((reader.GetInt64(0), new GatewayEvent(
                    reader.GetString(1),
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
                    reader.GetString(3),
                    reader.IsDBNull(4) ? null : reader.GetString(4),
                    reader.IsDBNull(5) ? null : reader.GetString(5),
                    reader.IsDBNull(6) ? null : reader.GetString(6),
                    reader.IsDBNull(7) ? null : reader.GetString(7),
                    reader.GetString(8),
                    reader.IsDBNull(9) ? null : reader.GetString(9))));
            }
        }

        if (events.Count == 0)
        {
            return 0;
        }

        var endpoints = await ListEndpointsAsync(connection, transaction, ct).ConfigureAwait(false);
        var queued = 0;
        using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO webhook_deliveries (" + DeliveryColumns + ", created_at) VALUES "
                + "($id, $endpoint, $event, $type, $body, 0, $next, 0, NULL, NULL, $now) ON CONFLICT (endpoint_id, event_id) DO NOTHING;";
            var id = insert.Parameters.Add("$id", SqliteType.Text);
            var endpointId = insert.Parameters.Add("$endpoint", SqliteType.Text);
            var eventId = insert.Parameters.Add("$event", SqliteType.Text);
            var type = insert.Parameters.Add("$type", SqliteType.Text);
            var text = insert.Parameters.Add("$body", SqliteType.Text);
            insert.Parameters.AddWithValue("$next", now.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            foreach (var delivery in WebhookFanOut.Of(events.Select(static e => e.Event), endpoints, body))
            {
                id.Value = delivery.Id;
                endpointId.Value = delivery.EndpointId;
                eventId.Value = delivery.EventId;
                type.Value = delivery.EventType;
                text.Value = delivery.Body;
                queued += await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
        }

        using (var move = connection.CreateCommand())
        {
            move.Transaction = transaction;
            move.CommandText = "UPDATE webhook_cursor SET last_rowid = $rowid WHERE id = 1;";
            move.Parameters.AddWithValue("$rowid", events[^1].RowId);
            await move.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        await transaction.CommitAsync(ct).ConfigureAwait(false);
        return queued;
    }

    public async Task<IReadOnlyList<WebhookDelivery>> DueAsync(DateTimeOffset now, int limit, CancellationToken ct)
    {
        // Read and claim in one write transaction: the file's write lock makes it atomic against every other claimer.
        using var connection = _database.OpenConnection();
        using var transaction = connection.BeginTransaction();
        List<WebhookDelivery> due;
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT " + DeliveryColumns + " FROM webhook_deliveries WHERE state = 0 AND next_attempt_ms <= $now ORDER BY next_attempt_ms, rowid LIMIT $limit;";
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$limit", limit);
            due = await ReadDeliveriesAsync(command, ct).ConfigureAwait(false);
        }

        if (due.Count > 0)
        {
            using var claim = connection.CreateCommand();
            claim.Transaction = transaction;
            claim.CommandText = "UPDATE webhook_deliveries SET next_attempt_ms = $lease WHERE id = $id;";
            claim.Parameters.AddWithValue("$lease", (now + IWebhookStore.ClaimLease).ToUnixTimeMilliseconds());
            var id = claim.Parameters.Add("$id", SqliteType.Text);
            foreach (var delivery in due)
            {
                id.Value = delivery.Id;
                await claim.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
        }

        await transaction.CommitAsync(ct).ConfigureAwait(false);
        return due;
    }

    public async Task<DateTimeOffset?> NextDueAsync(CancellationToken ct)
    {
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT MIN(next_attempt_ms) FROM webhook_deliveries WHERE state = 0;";
        var result = await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return result is long ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
    }

    public async Task RecordAttemptAsync(string deliveryId, WebhookDeliveryState state, int attempts, DateTimeOffset nextAttemptAt, int? status, string? error, CancellationToken ct)
    {
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE webhook_deliveries SET state = $state, attempts = $attempts, next_attempt_ms = $next, last_status = $status, last_error = $error WHERE id = $id;";
        command.Parameters.AddWithValue("$id", deliveryId);
        command.Parameters.AddWithValue("$state", (int)state);
        command.Parameters.AddWithValue("$attempts", attempts);
        command.Parameters.AddWithValue("$next", nextAttemptAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$status", status is { } s ? s : DBNull.Value);
        command.Parameters.AddWithValue("$error", (object?)error ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<WebhookDelivery>> DeliveriesAsync(string endpointId, int limit, CancellationToken ct)
    {
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT " + DeliveryColumns + " FROM webhook_deliveries WHERE endpoint_id = $endpoint ORDER BY rowid DESC LIMIT $limit;";
        command.Parameters.AddWithValue("$endpoint", endpointId);
        command.Parameters.AddWithValue("$limit", limit);
        return await ReadDeliveriesAsync(command, ct).ConfigureAwait(false);
    }

    private static async Task<List<WebhookEndpoint>> ListEndpointsAsync(SqliteConnection connection, SqliteTransaction? transaction, CancellationToken ct)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = StoreRows.SelectEndpoints + ";";
        using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await StoreRows.ReadEndpointsAsync(reader, ct).ConfigureAwait(false);
    }

    private static async Task<List<WebhookDelivery>> ReadDeliveriesAsync(SqliteCommand command, CancellationToken ct)
    {
        using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await StoreRows.ReadDeliveriesAsync(reader, ct).ConfigureAwait(false);
    }
}
