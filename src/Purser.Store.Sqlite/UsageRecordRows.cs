using System.Text;
using Microsoft.Data.Sqlite;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Store.Sqlite;

/// <summary>Reading <c>usage_records</c> back: the query text for a <see cref="UsageQuery"/> and row mapping.</summary>
internal static class UsageRecordRows
{
    // The column order is the ordinal contract of Read below.
    private const string SelectColumns =
        "SELECT request_id, timestamp, key_id, model_alias, provider, upstream_model, operation, "
        + "input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, cost_nano, "
        + "status, error_code, latency_ms, streamed, source, task_scope, degraded, "
        + "cache_write_1h_tokens, reasoning_tokens, web_search_requests, service_tier, end_user, tags FROM usage_records";

    /// <summary>
    /// Newest first; rowid breaks timestamp ties by insertion order. Only the filters that are set appear in the SQL,
    /// so SQLite can pick the key or timestamp index. A non-positive limit means no limit.
    /// </summary>
    public static SqliteCommand CreateCommand(SqliteConnection connection, UsageQuery query)
    {
        var command = connection.CreateCommand();
        var sql = new StringBuilder(SelectColumns, 512);
        var separator = " WHERE ";
        if (query.KeyId is not null)
        {
            sql.Append(separator).Append("key_id = $key_id");
            command.Parameters.AddWithValue("$key_id", query.KeyId);
            separator = " AND ";
        }

        if (query.ModelAlias is not null)
        {
            sql.Append(separator).Append("model_alias = $model_alias");
            command.Parameters.AddWithValue("$model_alias", query.ModelAlias);
            separator = " AND ";
        }

        if (query.EndUser is not null)
        {
            sql.Append(separator).Append("end_user = $end_user");
            command.Parameters.AddWithValue("$end_user", query.EndUser);
            separator = " AND ";
        }

        if (query.Tag is not null)
        {
            // One of the comma-separated tags, matched whole (instr, not LIKE, whose '_' is a wildcard).
            sql.Append(separator).Append("instr(',' || tags || ',', ',' || $tag || ',') > 0");
            command.Parameters.AddWithValue("$tag", query.Tag);
            separator = " AND ";
        }

        if (query.From is { } from)
        {
            sql.Append(separator).Append("timestamp >= $from");
            command.Parameters.AddWithValue("$from", from.ToUnixTimeMilliseconds());
            separator = " AND ";
        }

        if (query.To is { } to)
        {
            sql.Append(separator).Append("timestamp < $to");
            command.Parameters.AddWithValue("$to", to.ToUnixTimeMilliseconds());
        }

        sql.Append(" ORDER BY timestamp DESC, rowid DESC LIMIT $limit;");
        command.Parameters.AddWithValue("$limit", query.Limit > 0 ? query.Limit : -1);
        command.CommandText = sql.ToString();
        return command;
    }
}
