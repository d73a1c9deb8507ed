using System.Data.Common;
using System.Globalization;
using Purser.Events;
using Purser.Events.Webhooks;

namespace Purser.Store.Sqlite;

/// <summary>
/// The rows that read back the same in both stores (events, webhook endpoints and deliveries): one reader over
/// <see cref="DbDataReader"/>, compiled into the SQLite and the PostgreSQL store alike (as <c>AdminColumns</c> and
/// <c>UsageRecordColumns</c> are), so only each dialect's SQL and parameters differ. The column order of each query is
/// the ordinal contract of its reader.
/// </summary>
internal static class StoreRows
{
    /// <summary>Every webhook endpoint, oldest first (the same statement in both dialects).</summary>
    public const string SelectEndpoints = "SELECT id, url, secret, event_types, created_at FROM webhook_endpoints ORDER BY created_at, id";

    /// <summary>The text in the first column of every remaining row, in order.</summary>
    public static List<string> ReadTexts(DbDataReader reader)
    {
        var texts = new List<string>();
        while (reader.Read())
        {
            texts.Add(reader.GetString(0));
        }

        return texts;
    }

    /// <summary>Events in the column order <c>id, at, type, scope, budget_id, window_key, request_id, message, payload</c>.</summary>
    public static async Task<List<GatewayEvent>> ReadEventsAsync(DbDataReader reader, CancellationToken ct)
    {
        var events = new List<GatewayEvent>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            events.Add(new GatewayEvent(
                reader.GetString(0),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
                reader.GetString(2),
                NullableText(reader, 3),
                NullableText(reader, 4),
                NullableText(reader, 5),
                NullableText(reader, 6),
                reader.GetString(7),
                NullableText(reader, 8)));
        }

        return events;
    }

    /// <summary>Endpoints in the column order of <see cref="SelectEndpoints"/>.</summary>
    public static async Task<List<WebhookEndpoint>> ReadEndpointsAsync(DbDataReader reader, CancellationToken ct)
    {
        var list = new List<WebhookEndpoint>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            var types = reader.GetString(3);
            list.Add(new WebhookEndpoint(
                reader.GetString(0),
                new Uri(reader.GetString(1)),
                reader.GetString(2),
                types.Length == 0 ? [] : types.Split(','),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4))));
        }

        return list;
    }

    /// <summary>Deliveries; the state column is a small integer in either dialect's width.</summary>
    public static async Task<List<WebhookDelivery>> ReadDeliveriesAsync(DbDataReader reader, CancellationToken ct)
    {
        var list = new List<WebhookDelivery>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(new WebhookDelivery(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.GetString(3),
                reader.GetString(4),
                reader.GetInt32(5),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
                (WebhookDeliveryState)Convert.ToInt32(reader.GetValue(7), CultureInfo.InvariantCulture),
                reader.IsDBNull(8) ? null : reader.GetInt32(8),
                NullableText(reader, 9)));
        }

        return list;
    }

    private static string? NullableText(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
