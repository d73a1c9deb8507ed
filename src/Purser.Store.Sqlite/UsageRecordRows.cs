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
        var filter = new SqliteFilter(connection.CreateCommand(), SelectColumns);
        if (query.KeyId is not null)
        {
            filter.Where("key_id = $key_id", "$key_id", query.KeyId);
        }

        if (query.ModelAlias is not null)
        {
            filter.Where("model_alias = $model_alias", "$model_alias", query.ModelAlias);
        }

        if (query.EndUser is not null)
        {
            filter.Where("end_user = $end_user", "$end_user", query.EndUser);
        }

        if (query.Tag is not null)
        {
            // One of the comma-separated tags, matched whole (instr, not LIKE, whose '_' is a wildcard).
            filter.Where("instr(',' || tags || ',', ',' || $tag || ',') > 0", "$tag", query.Tag);
        }

        filter.Between("timestamp", query.From, query.To);
        return filter.Finish(query.Limit);
    }
}
