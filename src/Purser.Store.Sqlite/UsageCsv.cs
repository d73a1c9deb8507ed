using System.Globalization;
using System.Text;
using Purser.Usage;

namespace Purser.Store.Sqlite;

/// <summary>
/// RFC 4180 rows for usage exports: CRLF line ends, a field is quoted only when it holds a comma, quote, CR or LF,
/// and quotes inside are doubled. Cost is the exact decimal USD string, timestamps ISO 8601 UTC. A text field that a
/// spreadsheet would read as a formula (it starts with <c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>, tab or CR) is neutralised
/// as OWASP recommends: prefixed with <c>'</c> and quoted. Callers choose model names, so a caller could otherwise plant
/// <c>=HYPERLINK(…)</c> in the operator's spreadsheet.
/// </summary>
internal static class UsageCsv
{
    public const string Header =
        "request_id,timestamp,key_id,model_alias,provider,upstream_model,operation,input_tokens,output_tokens,"
        + "cached_input_tokens,cache_write_tokens,cost_usd,status,error_code,latency_ms,streamed,source,task_scope,degraded,"
        + "cache_write_1h_tokens,reasoning_tokens,web_search_requests,service_tier\r\n";

    public static void AppendRow(StringBuilder row, UsageRecord record)
    {
        AppendField(row, record.RequestId).Append(',');
        row.Append(record.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)).Append(',');
        AppendField(row, record.KeyId).Append(',');
        AppendField(row, record.ModelAlias).Append(',');
        AppendField(row, record.Provider).Append(',');
        AppendField(row, record.UpstreamModel).Append(',');
        AppendField(row, record.Operation).Append(',');
        row.Append(record.Tokens.InputTokens.ToString(CultureInfo.InvariantCulture)).Append(',');
        row.Append(record.Tokens.OutputTokens.ToString(CultureInfo.InvariantCulture)).Append(',');
        row.Append(record.Tokens.CachedInputTokens.ToString(CultureInfo.InvariantCulture)).Append(',');
        row.Append(record.Tokens.CacheWriteTokens.ToString(CultureInfo.InvariantCulture)).Append(',');
        row.Append(record.Cost.ToString()).Append(',');
        row.Append(record.Status.ToString(CultureInfo.InvariantCulture)).Append(',');
        AppendField(row, record.ErrorCode ?? "").Append(',');
        row.Append(record.LatencyMs.ToString(CultureInfo.InvariantCulture)).Append(',');
        row.Append(record.Streamed ? "true" : "false").Append(',');
        row.Append(SourceName(record.Source)).Append(',');
        AppendField(row, record.TaskScope ?? "").Append(',');
        AppendField(row, record.Degraded ?? "").Append(',');
        row.Append(record.Tokens.CacheWrite1hTokens.ToString(CultureInfo.InvariantCulture)).Append(',');
        row.Append(record.Tokens.ReasoningTokens.ToString(CultureInfo.InvariantCulture)).Append(',');
        row.Append(record.Tokens.WebSearchRequests.ToString(CultureInfo.InvariantCulture)).Append(',');
        row.Append(ServiceTiers.Name(record.Tokens.Tier)).Append("\r\n");
    }

    private static StringBuilder AppendField(StringBuilder row, string value)
    {
        var formula = value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r';
        if (!formula && value.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            return row.Append(value);
        }

        row.Append('"');
        if (formula)
        {
            row.Append('\'');
        }

        foreach (var c in value)
        {
            if (c == '"')
            {
                row.Append('"');
            }

            row.Append(c);
        }

        return row.Append('"');
    }

    private static string SourceName(UsageSource source) => source switch
    {
        UsageSource.Reported => "reported",
        UsageSource.Counted => "counted",
        UsageSource.None => "none",
        UsageSource.Held => "held",
        _ => ((int)source).ToString(CultureInfo.InvariantCulture),
    };
}
