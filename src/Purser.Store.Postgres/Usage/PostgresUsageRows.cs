using System.Text;
using Npgsql;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Store.Postgres.Usage;

/// <summary>Writing and reading <c>usage_records</c>: the batch insert, the query text for a <see cref="UsageQuery"/> and row mapping.</summary>
internal static class PostgresUsageRows
{
    // One statement per batch, whatever its size: the columns travel as arrays and unnest pairs them back into rows.
    // DO NOTHING on a known request id makes a retried (or replayed) batch idempotent.
    public const string InsertSql =
        """
        INSERT INTO usage_records (
            request_id, timestamp, key_id, model_alias, provider, upstream_model, operation,
            input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, cost_nano,
            status, error_code, latency_ms, streamed, source, task_scope, degraded,
            cache_write_1h_tokens, reasoning_tokens, web_search_requests, service_tier, end_user, tags)
        SELECT * FROM unnest(
            $1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[],
            $13::integer[], $14::text[], $15::bigint[], $16::boolean[], $17::integer[], $18::text[], $19::text[],
            $20::bigint[], $21::bigint[], $22::bigint[], $23::text[], $24::text[], $25::text[])
        ON CONFLICT (request_id) DO NOTHING
        """;

    // The batch's new records (not those whose request id was already stored) added to their hourly roll-ups in the
    // same statement. Rows are upserted in key order, so two instances writing at once lock them in the same order.
    private const string RollupSql =
        """
         RETURNING timestamp, key_id, model_alias, status, source, input_tokens, output_tokens, cost_nano, degraded)
        INSERT INTO usage_rollups (hour_start, key_id, model_alias, outcome, requests, input_tokens, output_tokens, cost_nano, degraded_requests)
        SELECT timestamp - (timestamp % 3600000), key_id, model_alias,
               CASE WHEN source = 2 THEN 'refused' WHEN status < 400 THEN 'ok' ELSE 'failed' END,
               count(*), sum(input_tokens)::bigint, sum(output_tokens)::bigint, sum(cost_nano)::bigint, count(degraded)
        FROM inserted GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (hour_start, key_id, model_alias, outcome) DO UPDATE SET
            requests = usage_rollups.requests + EXCLUDED.requests,
            input_tokens = usage_rollups.input_tokens + EXCLUDED.input_tokens,
            output_tokens = usage_rollups.output_tokens + EXCLUDED.output_tokens,
            cost_nano = usage_rollups.cost_nano + EXCLUDED.cost_nano,
            degraded_requests = usage_rollups.degraded_requests + EXCLUDED.degraded_requests
        """;

    // The column order is the ordinal contract of Read below.
    private const string SelectColumns =
        "SELECT request_id, timestamp, key_id, model_alias, provider, upstream_model, operation, "
        + "input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, cost_nano, "
        + "status, error_code, latency_ms, streamed, source, task_scope, degraded, "
        + "cache_write_1h_tokens, reasoning_tokens, web_search_requests, service_tier, end_user, tags FROM usage_records";

    public static NpgsqlCommand CreateInsert(NpgsqlDataSource dataSource, List<UsageRecord> batch)
    {
        var n = batch.Count;
        var text = new string?[7 + 6][];
        for (var i = 0; i < text.Length; i++)
        {
            text[i] = new string?[n];
        }

        var numbers = new long[10][];
        for (var i = 0; i < numbers.Length; i++)
        {
            numbers[i] = new long[n];
        }

        var status = new int[n];
        var source = new int[n];
        var streamed = new bool[n];
        for (var r = 0; r < n; r++)
        {
            var record = batch[r];
            text[0][r] = record.RequestId;
            text[1][r] = record.KeyId;
            text[2][r] = record.ModelAlias;
            text[3][r] = record.Provider;
            text[4][r] = record.UpstreamModel;
            text[5][r] = record.Operation;
            text[6][r] = record.ErrorCode;
            text[7][r] = record.TaskScope;
            text[8][r] = record.Degraded;
            text[9][r] = record.Tokens.Tier == ServiceTier.Default ? null : ServiceTiers.Name(record.Tokens.Tier);
            text[10][r] = record.EndUser;
            text[11][r] = record.Tags;
            numbers[0][r] = record.Timestamp.ToUnixTimeMilliseconds();
            numbers[1][r] = record.Tokens.InputTokens;
            numbers[2][r] = record.Tokens.OutputTokens;
            numbers[3][r] = record.Tokens.CachedInputTokens;
            numbers[4][r] = record.Tokens.CacheWriteTokens;
            numbers[5][r] = record.Cost.NanoUsd;
            numbers[6][r] = record.LatencyMs;
            numbers[7][r] = record.Tokens.CacheWrite1hTokens;
            numbers[8][r] = record.Tokens.ReasoningTokens;
            numbers[9][r] = record.Tokens.WebSearchRequests;
            status[r] = record.Status;
            source[r] = (int)record.Source;
            streamed[r] = record.Streamed;
        }

        var command = dataSource.CreateCommand("WITH inserted AS (" + InsertSql + RollupSql);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = text[0] });
        p.Add(new NpgsqlParameter<long[]> { TypedValue = numbers[0] });
        for (var i = 1; i <= 5; i++)
        {
            p.Add(new NpgsqlParameter<string?[]> { TypedValue = text[i] });
        }

        for (var i = 1; i <= 5; i++)
        {
            p.Add(new NpgsqlParameter<long[]> { TypedValue = numbers[i] });
        }

        p.Add(new NpgsqlParameter<int[]> { TypedValue = status });
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = text[6] });
        p.Add(new NpgsqlParameter<long[]> { TypedValue = numbers[6] });
        p.Add(new NpgsqlParameter<bool[]> { TypedValue = streamed });
        p.Add(new NpgsqlParameter<int[]> { TypedValue = source });
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = text[7] });
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = text[8] });
        for (var i = 7; i <= 9; i++)
        {
            p.Add(new NpgsqlParameter<long[]> { TypedValue = numbers[i] });
        }

        p.Add(new NpgsqlParameter<string?[]> { TypedValue = text[9] });
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = text[10] });
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = text[11] });
        return command;
    }

    /// <summary>
    /// Newest first; seq breaks timestamp ties by insertion order. Only the filters that are set appear in the SQL, so
    /// the planner can pick the key or timestamp index. A non-positive limit means no limit.
    /// </summary>
    public static NpgsqlCommand CreateQuery(NpgsqlDataSource dataSource, UsageQuery query)
    {
        var command = dataSource.CreateCommand();
        var sql = new StringBuilder(SelectColumns, 512);
        var separator = " WHERE ";
        if (query.KeyId is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = query.KeyId });
            sql.Append(separator).Append("key_id = $").Append(command.Parameters.Count);
            separator = " AND ";
        }

        if (query.ModelAlias is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = query.ModelAlias });
            sql.Append(separator).Append("model_alias = $").Append(command.Parameters.Count);
            separator = " AND ";
        }

        if (query.EndUser is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = query.EndUser });
            sql.Append(separator).Append("end_user = $").Append(command.Parameters.Count);
            separator = " AND ";
        }

        if (query.Tag is not null)
        {
            // One of the comma-separated tags, matched whole (position, not LIKE, whose '_' is a wildcard).
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = query.Tag });
            sql.Append(separator).Append("position(',' || $").Append(command.Parameters.Count).Append(" || ',' in ',' || tags || ',') > 0");
            separator = " AND ";
        }

        if (query.From is { } from)
        {
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = from.ToUnixTimeMilliseconds() });
            sql.Append(separator).Append("timestamp >= $").Append(command.Parameters.Count);
            separator = " AND ";
        }

        if (query.To is { } to)
        {
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = to.ToUnixTimeMilliseconds() });
            sql.Append(separator).Append("timestamp < $").Append(command.Parameters.Count);
        }

        // LIMIT NULL is no limit.
        command.Parameters.Add(new NpgsqlParameter<long?> { TypedValue = query.Limit > 0 ? query.Limit : null });
        sql.Append(" ORDER BY timestamp DESC, seq DESC LIMIT $").Append(command.Parameters.Count);
        command.CommandText = sql.ToString();
        return command;
    }
}
