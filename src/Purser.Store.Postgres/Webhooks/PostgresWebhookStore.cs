using System.Data;
using Npgsql;
using Purser.Events;
using Purser.Events.Webhooks;
using Purser.Store.Sqlite;

namespace Purser.Store.Postgres.Webhooks;

/// <summary>
/// Webhook endpoints and the durable delivery queue in the shared PostgreSQL database, so that an endpoint created on
/// one instance is fed by the events of every instance and each delivery is attempted by one instance at a time.
/// Fan-out reads the event log past a shared cursor (events.seq) under the cursor row's lock; a claim takes due rows
/// with <c>FOR UPDATE SKIP LOCKED</c> and pushes them out by <see cref="IWebhookStore.ClaimLease"/>.
/// An outage surfaces as the ledger's unavailable exception.
/// </summary>
public sealed class PostgresWebhookStore : IWebhookStore
{
    private const string DeliveryColumns = "id, endpoint_id, event_id, event_type, body, attempts, next_attempt_ms, state, last_status, last_error";

    private const string Claim =
        "WITH due AS (SELECT " + DeliveryColumns + ", seq FROM webhook_deliveries WHERE state = 0 AND next_attempt_ms <= $1"
        + " ORDER BY next_attempt_ms, seq LIMIT $2 FOR UPDATE SKIP LOCKED),"
        + " claimed AS (UPDATE webhook_deliveries d SET next_attempt_ms = $3 FROM due WHERE d.id = due.id RETURNING d.id)"
        + " SELECT " + DeliveryColumns + " FROM due WHERE id IN (SELECT id FROM claimed) ORDER BY next_attempt_ms, seq";

    private readonly NpgsqlDataSource _dataSource;

    public PostgresWebhookStore(PostgresDatabase db)
    {
        ArgumentNullException.ThrowIfNull(db);
        _dataSource = db.DataSource;
    }

    public Task<IReadOnlyList<WebhookEndpoint>> ListEndpointsAsync(CancellationToken ct) => PostgresErrors.RunAsync<IReadOnlyList<WebhookEndpoint>>(async () =>
    {
        await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        return await ListEndpointsAsync(connection, null, ct).ConfigureAwait(false);
    });

    public Task CreateEndpointAsync(WebhookEndpoint endpoint, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return PostgresErrors.RunAsync(async () =>
        {
            await using var command = _dataSource.CreateCommand("INSERT INTO webhook_endpoints (id, url, secret, event_types, created_at) VALUES ($1, $2, $3, $4, $5)");
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = endpoint.Id });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = endpoint.Url.AbsoluteUri });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = endpoint.Secret });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = string.Join(',', endpoint.EventTypes) });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = endpoint.CreatedAt.ToUnixTimeMilliseconds() });
            return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        });
    }

    public Task<bool> DeleteEndpointAsync(string id, CancellationToken ct) => PostgresErrors.RunAsync(async () =>
    {
        // Its deliveries go with it, pending or history (they name a gone endpoint), in one transaction.
        await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using (var deliveries = new NpgsqlCommand("DELETE FROM webhook_deliveries WHERE endpoint_id = $1", connection, transaction))
        {
            deliveries.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
            await deliveries.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        int removed;
        await using (var endpoint = new NpgsqlCommand("DELETE FROM webhook_endpoints WHERE id = $1", connection, transaction))
        {
            endpoint.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
            removed = await endpoint.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        await transaction.CommitAsync(ct).ConfigureAwait(false);
        return removed == 1;
    });

    public Task<int> FanOutAsync(Func<GatewayEvent, string> body, DateTimeOffset now, int batch, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(body);
        return PostgresErrors.RunAsync(async () =>
        {
            await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
            var horizon = await StableHorizonAsync(connection, ct).ConfigureAwait(false);
            if (horizon is not { } stable)
            {
                return 0;
            }

            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct).ConfigureAwait(false);

            // The cursor row's lock serialises fan-outs across instances; UNIQUE (endpoint_id, event_id) backs it up.
            long cursor;
            await using (var read = new NpgsqlCommand("SELECT last_seq FROM webhook_cursor WHERE id = 1 FOR UPDATE", connection, transaction))
            {
                cursor = (long)(await read.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
            }

            var events = new List<(long Seq, GatewayEvent Event)>();
            await using (var read = new NpgsqlCommand(
                "SELECT seq, id, timestamp, type, scope, budget_id, window_key, request_id, message, data_json FROM events"
                + " WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3", connection, transaction))
            {
                read.Parameters.Add(new NpgsqlParameter<long> { TypedValue = cursor });
                read.Parameters.Add(new NpgsqlParameter<long> { TypedValue = stable });
                read.Parameters.Add(new NpgsqlParameter<int> { TypedValue = batch });
                await using var reader = await read.ExecuteReaderAsync(ct).ConfigureAwait(false);
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
                await transaction.CommitAsync(ct).ConfigureAwait(false);
                return 0;
            }

            var endpoints = await ListEndpointsAsync(connection, transaction, ct).ConfigureAwait(false);
            var queued = 0;
            await using (var insert = new NpgsqlCommand(
                "INSERT INTO webhook_deliveries (" + DeliveryColumns + ", created_at) VALUES ($1, $2, $3, $4, $5, 0, $6, 0, NULL, NULL, $6)"
                + " ON CONFLICT (endpoint_id, event_id) DO NOTHING", connection, transaction))
            {
                var id = new NpgsqlParameter<string>();
                var endpointId = new NpgsqlParameter<string>();
                var eventId = new NpgsqlParameter<string>();
                var type = new NpgsqlParameter<string>();
                var text = new NpgsqlParameter<string>();
                insert.Parameters.Add(id);
                insert.Parameters.Add(endpointId);
                insert.Parameters.Add(eventId);
                insert.Parameters.Add(type);
                insert.Parameters.Add(text);
                insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = now.ToUnixTimeMilliseconds() });
                foreach (var delivery in WebhookFanOut.Of(events.Select(static e => e.Event), endpoints, body))
                {
                    id.TypedValue = delivery.Id;
                    endpointId.TypedValue = delivery.EndpointId;
                    eventId.TypedValue = delivery.EventId;
                    type.TypedValue = delivery.EventType;
                    text.TypedValue = delivery.Body;
                    queued += await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }
            }

            await using (var move = new NpgsqlCommand("UPDATE webhook_cursor SET last_seq = $1 WHERE id = 1", connection, transaction))
            {
                move.Parameters.Add(new NpgsqlParameter<long> { TypedValue = events[^1].Seq });
                await move.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            await transaction.CommitAsync(ct).ConfigureAwait(false);
            return queued;
        });
    }

    public Task<IReadOnlyList<WebhookDelivery>> DueAsync(DateTimeOffset now, int limit, CancellationToken ct) => PostgresErrors.RunAsync<IReadOnlyList<WebhookDelivery>>(async () =>
    {
        // One statement: the rows another claimer holds are skipped, not waited for, and never returned twice.
        await using var command = _dataSource.CreateCommand(Claim);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = now.ToUnixTimeMilliseconds() });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = (now + IWebhookStore.ClaimLease).ToUnixTimeMilliseconds() });
        return await ReadDeliveriesAsync(command, ct).ConfigureAwait(false);
    });

    public Task<DateTimeOffset?> NextDueAsync(CancellationToken ct) => PostgresErrors.RunAsync(async () =>
    {
        await using var command = _dataSource.CreateCommand("SELECT MIN(next_attempt_ms) FROM webhook_deliveries WHERE state = 0");
        var result = await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return result is long ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : (DateTimeOffset?)null;
    });

    public Task RecordAttemptAsync(string deliveryId, WebhookDeliveryState state, int attempts, DateTimeOffset nextAttemptAt, int? status, string? error, CancellationToken ct) =>
        PostgresErrors.RunAsync(async () =>
        {
            await using var command = _dataSource.CreateCommand(
                "UPDATE webhook_deliveries SET state = $2, attempts = $3, next_attempt_ms = $4, last_status = $5, last_error = $6 WHERE id = $1");
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = deliveryId });
            command.Parameters.Add(new NpgsqlParameter<short> { TypedValue = (short)state });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = attempts });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = nextAttemptAt.ToUnixTimeMilliseconds() });
            command.Parameters.Add(new NpgsqlParameter<int?> { TypedValue = status });
            command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = error });
            return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        });

    public Task<IReadOnlyList<WebhookDelivery>> DeliveriesAsync(string endpointId, int limit, CancellationToken ct) => PostgresErrors.RunAsync<IReadOnlyList<WebhookDelivery>>(async () =>
    {
        await using var command = _dataSource.CreateCommand("SELECT " + DeliveryColumns + " FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY seq DESC LIMIT $2");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = endpointId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        return await ReadDeliveriesAsync(command, ct).ConfigureAwait(false);
    });

    /// <summary>
    /// The highest event seq below which no insert is still in flight, or null when nothing is past the cursor. Identity
    /// values are handed out before commit, so a later seq can be visible while an earlier one is not yet; a cursor moved
    /// past it would skip that event for good. A SHARE lock waits for every transaction that is inserting into events
    /// (each holds ROW EXCLUSIVE from before it drew its seq) and is released at once, so appends pause for
    /// milliseconds, and only when there is something new to fan out.
    /// </summary>
    private static async Task<long?> StableHorizonAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using (var peek = new NpgsqlCommand("SELECT (SELECT last_seq FROM webhook_cursor WHERE id = 1) < (SELECT COALESCE(MAX(seq), 0) FROM events)", connection))
        {
            if (!(bool)(await peek.ExecuteScalarAsync(ct).ConfigureAwait(false))!)
            {
                return null;
            }
        }

        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct).ConfigureAwait(false);
        await using (var lockEvents = new NpgsqlCommand("LOCK TABLE events IN SHARE MODE", connection, transaction))
        {
            await lockEvents.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        long horizon;
        await using (var max = new NpgsqlCommand("SELECT COALESCE(MAX(seq), 0) FROM events", connection, transaction))
        {
            horizon = (long)(await max.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }

        await transaction.CommitAsync(ct).ConfigureAwait(false);
        return horizon;
    }

    private static async Task<List<WebhookEndpoint>> ListEndpointsAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(StoreRows.SelectEndpoints, connection, transaction);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await StoreRows.ReadEndpointsAsync(reader, ct).ConfigureAwait(false);
    }

    private static async Task<List<WebhookDelivery>> ReadDeliveriesAsync(NpgsqlCommand command, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await StoreRows.ReadDeliveriesAsync(reader, ct).ConfigureAwait(false);
    }
}
