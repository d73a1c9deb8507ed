using Microsoft.Data.Sqlite;
using Purser.Usage;

namespace Purser.Store.Sqlite;

/// <summary>
/// Keeps <c>usage_rollups</c> in step with the records of a batch: the batch's new records are summed in memory by
/// hour, key, model alias and outcome, then each sum is added to its row with one prepared upsert, inside the batch's
/// transaction. A refused flood of thousands of records a second touches one row per hour.
/// </summary>
internal sealed class UsageRollupWriter : IDisposable
{
    private const string UpsertSql =
        """
        INSERT INTO usage_rollups (hour_start, key_id, model_alias, outcome, requests, input_tokens, output_tokens, cost_nano, degraded_requests)
        VALUES ($hour_start, $key_id, $model_alias, $outcome, $requests, $input_tokens, $output_tokens, $cost_nano, $degraded_requests)
        ON CONFLICT (hour_start, key_id, model_alias, outcome) DO UPDATE SET
            requests = requests + excluded.requests,
            input_tokens = input_tokens + excluded.input_tokens,
            output_tokens = output_tokens + excluded.output_tokens,
            cost_nano = cost_nano + excluded.cost_nano,
            degraded_requests = degraded_requests + excluded.degraded_requests;
        """;

    private readonly SqliteCommand _upsert;
    private readonly SqliteParameter _hourStart;
    private readonly SqliteParameter _keyId;
    private readonly SqliteParameter _modelAlias;
    private readonly SqliteParameter _outcome;
    private readonly SqliteParameter _requests;
    private readonly SqliteParameter _inputTokens;
    private readonly SqliteParameter _outputTokens;
    private readonly SqliteParameter _costNano;
    private readonly SqliteParameter _degraded;
    private readonly Dictionary<Bucket, Totals> _pending = [];

    public UsageRollupWriter(SqliteConnection connection)
    {
        _upsert = connection.CreateCommand();
        _upsert.CommandText = UpsertSql;
        _hourStart = Add("$hour_start", SqliteType.Integer);
        _keyId = Add("$key_id", SqliteType.Text);
        _modelAlias = Add("$model_alias", SqliteType.Text);
        _outcome = Add("$outcome", SqliteType.Text);
        _requests = Add("$requests", SqliteType.Integer);
        _inputTokens = Add("$input_tokens", SqliteType.Integer);
        _outputTokens = Add("$output_tokens", SqliteType.Integer);
        _costNano = Add("$cost_nano", SqliteType.Integer);
        _degraded = Add("$degraded_requests", SqliteType.Integer);
        _upsert.Prepare();
    }

    /// <summary>Counts a record the batch inserted (not one its request id already had).</summary>
    public void Add(UsageRecord record)
    {
        var bucket = new Bucket(UsageOutcome.HourOf(record.Timestamp.ToUnixTimeMilliseconds()), record.KeyId, record.ModelAlias, UsageOutcome.Of(record));
        _pending.TryGetValue(bucket, out var totals);
        _pending[bucket] = new Totals(
            totals.Requests + 1,
            totals.InputTokens + record.Tokens.InputTokens,
            totals.OutputTokens + record.Tokens.OutputTokens,
            totals.CostNano + record.Cost.NanoUsd,
            totals.Degraded + (record.Degraded is null ? 0 : 1));
    }

    /// <summary>Adds the batch's sums to their rows in <paramref name="transaction"/>; the sums are cleared either way.</summary>
    public void Write(SqliteTransaction transaction)
    {
        try
        {
            _upsert.Transaction = transaction;
            foreach (var (bucket, totals) in _pending)
            {
                _hourStart.Value = bucket.HourStart;
                _keyId.Value = bucket.KeyId;
                _modelAlias.Value = bucket.ModelAlias;
                _outcome.Value = bucket.Outcome;
                _requests.Value = totals.Requests;
                _inputTokens.Value = totals.InputTokens;
                _outputTokens.Value = totals.OutputTokens;
                _costNano.Value = totals.CostNano;
                _degraded.Value = totals.Degraded;
                _upsert.ExecuteNonQuery();
            }
        }
        finally
        {
            _upsert.Transaction = null;
            _pending.Clear();
        }
    }

    /// <summary>Forgets the sums of a batch whose transaction failed: its retry counts its records again.</summary>
    public void Clear() => _pending.Clear();

    public void Dispose() => _upsert.Dispose();

    private SqliteParameter Add(string name, SqliteType type)
    {
        var parameter = _upsert.CreateParameter();
        parameter.ParameterName = name;
        parameter.SqliteType = type;
        _upsert.Parameters.Add(parameter);
        return parameter;
    }

    private readonly record struct Bucket(long HourStart, string KeyId, string ModelAlias, string Outcome);

    private readonly record struct Totals(long Requests, long InputTokens, long OutputTokens, long CostNano, long Degraded);
}
