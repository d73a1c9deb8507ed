using Microsoft.Data.Sqlite;
using Purser.Usage;

namespace Purser.Store.Sqlite;

/// <summary>
/// The background writer's connection and its prepared insert. Parameters are created once and only their values
/// change per record, so a batch costs one statement compilation per connection, not one per record.
/// </summary>
internal sealed class UsageBatchWriter : IDisposable
{
    // DO NOTHING on a known request id makes a retried (or replayed) batch idempotent.
    private const string InsertSql =
        """
        INSERT INTO usage_records (
            request_id, timestamp, key_id, model_alias, provider, upstream_model, operation,
            input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, cost_nano,
            status, error_code, latency_ms, streamed, source, task_scope, degraded,
            cache_write_1h_tokens, reasoning_tokens, web_search_requests, service_tier, end_user, tags)
        VALUES (
            $request_id, $timestamp, $key_id, $model_alias, $provider, $upstream_model, $operation,
            $input_tokens, $output_tokens, $cached_input_tokens, $cache_write_tokens, $cost_nano,
            $status, $error_code, $latency_ms, $streamed, $source, $task_scope, $degraded,
            $cache_write_1h_tokens, $reasoning_tokens, $web_search_requests, $service_tier, $end_user, $tags)
        ON CONFLICT (request_id) DO NOTHING;
        """;

    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _insert;
    private readonly SqliteParameter _requestId;
    private readonly SqliteParameter _timestamp;
    private readonly SqliteParameter _keyId;
    private readonly SqliteParameter _modelAlias;
    private readonly SqliteParameter _provider;
    private readonly SqliteParameter _upstreamModel;
    private readonly SqliteParameter _operation;
    private readonly SqliteParameter _inputTokens;
    private readonly SqliteParameter _outputTokens;
    private readonly SqliteParameter _cachedInputTokens;
    private readonly SqliteParameter _cacheWriteTokens;
    private readonly SqliteParameter _costNano;
    private readonly SqliteParameter _status;
    private readonly SqliteParameter _errorCode;
    private readonly SqliteParameter _latencyMs;
    private readonly SqliteParameter _streamed;
    private readonly SqliteParameter _source;
    private readonly SqliteParameter _taskScope;
    private readonly SqliteParameter _degraded;
    private readonly UsageRollupWriter _rollups;
    private readonly SqliteParameter _cacheWrite1hTokens;
    private readonly SqliteParameter _reasoningTokens;
    private readonly SqliteParameter _webSearchRequests;
    private readonly SqliteParameter _serviceTier;
    private readonly SqliteParameter _endUser;
    private readonly SqliteParameter _tags;

    public UsageBatchWriter(SqliteDatabase database)
    {
        _connection = database.OpenConnection();
        _insert = _connection.CreateCommand();
        _insert.CommandText = InsertSql;
        _requestId = Add("$request_id", null);
        _timestamp = Add("$timestamp", SqliteType.Integer);
        _keyId = Add("$key_id", SqliteType.Text);
        _modelAlias = Add("$model_alias", SqliteType.Text);
        _provider = Add("$provider", SqliteType.Text);
        _upstreamModel = Add("$upstream_model", SqliteType.Text);
        _operation = Add("$operation", SqliteType.Text);
        _inputTokens = Add("$input_tokens", SqliteType.Integer);
        _outputTokens = Add("$output_tokens", SqliteType.Integer);
        _cachedInputTokens = Add("$cached_input_tokens", SqliteType.Integer);
        _cacheWriteTokens = Add("$cache_write_tokens", SqliteType.Integer);
        _costNano = Add("$cost_nano", SqliteType.Integer);
        _status = Add("$status", SqliteType.Integer);
        _errorCode = Add("$error_code", SqliteType.Text);
        _latencyMs = Add("$latency_ms", SqliteType.Integer);
        _streamed = Add("$streamed", SqliteType.Integer);
        _source = Add("$source", SqliteType.Integer);
        _taskScope = Add("$task_scope", SqliteType.Text);
        _degraded = Add("$degraded", SqliteType.Text);
        _cacheWrite1hTokens = Add("$cache_write_1h_tokens", SqliteType.Integer);
        _reasoningTokens = Add("$reasoning_tokens", SqliteType.Integer);
        _webSearchRequests = Add("$web_search_requests", SqliteType.Integer);
        _serviceTier = Add("$service_tier", SqliteType.Text);
        _endUser = Add("$end_user", SqliteType.Text);
        _tags = Add("$tags", SqliteType.Text);

        // A failure here (schema missing) must not leak the connection.
        try
        {
            // Compiled once here; every record of every batch rebinds the same statement.
            _insert.Prepare();
            _rollups = new UsageRollupWriter(_connection);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes the whole batch and its roll-ups in one transaction: either every new record lands, counted in its
    /// roll-up, or none does.
    /// </summary>
    public void Write(List<UsageRecord> batch)
    {
        _rollups.Clear();
        using var transaction = _connection.BeginTransaction(deferred: false);
        _insert.Transaction = transaction;
        foreach (var record in batch)
        {
            _requestId.Value = UsageRecordColumns.EncodeRequestId(record.RequestId);
            _timestamp.Value = record.Timestamp.ToUnixTimeMilliseconds();
            _keyId.Value = record.KeyId;
            _modelAlias.Value = record.ModelAlias;
            _provider.Value = record.Provider;
            _upstreamModel.Value = record.UpstreamModel;
            _operation.Value = record.Operation;
            _inputTokens.Value = record.Tokens.InputTokens;
            _outputTokens.Value = record.Tokens.OutputTokens;
            _cachedInputTokens.Value = record.Tokens.CachedInputTokens;
            _cacheWriteTokens.Value = record.Tokens.CacheWriteTokens;
            _costNano.Value = record.Cost.NanoUsd;
            _status.Value = record.Status;
            _errorCode.Value = (object?)record.ErrorCode ?? DBNull.Value;
            _latencyMs.Value = record.LatencyMs;
            _streamed.Value = record.Streamed ? 1L : 0L;
            _source.Value = (int)record.Source;
            _taskScope.Value = (object?)record.TaskScope ?? DBNull.Value;
            _degraded.Value = (object?)record.Degraded ?? DBNull.Value;
            _cacheWrite1hTokens.Value = record.Tokens.CacheWrite1hTokens;
            _reasoningTokens.Value = record.Tokens.ReasoningTokens;
            _webSearchRequests.Value = record.Tokens.WebSearchRequests;
            _serviceTier.Value = record.Tokens.Tier == ServiceTier.Default ? DBNull.Value : ServiceTiers.Name(record.Tokens.Tier);
            _endUser.Value = (object?)record.EndUser ?? DBNull.Value;
            _tags.Value = (object?)record.Tags ?? DBNull.Value;
            if (_insert.ExecuteNonQuery() == 1)
            {
                _rollups.Add(record);
            }
        }

        _rollups.Write(transaction);
        transaction.Commit();
        _insert.Transaction = null;
    }

    public void Dispose()
    {
        _rollups?.Dispose();
        _insert.Dispose();
        _connection.Dispose();
    }

    /// <param name="type">Null binds each value as its own type (the request id is text or a blob).</param>
    private SqliteParameter Add(string name, SqliteType? type)
    {
        var parameter = _insert.CreateParameter();
        parameter.ParameterName = name;
        if (type is { } fixedType)
        {
            parameter.SqliteType = fixedType;
        }

        _insert.Parameters.Add(parameter);
        return parameter;
    }
}
