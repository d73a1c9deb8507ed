using System.Data.Common;
using Purser.Pricing;
using Purser.Responses;

namespace Purser.Store.Sqlite.Responses;

/// <summary>
/// A <c>response_routes</c> row as both stores select and read it, compiled into the SQLite and the PostgreSQL store
/// alike (as <c>AdminRows</c> is): the column list is the ordinal contract of <see cref="Read"/>.
/// </summary>
internal static class ResponseRouteRows
{
    public const string Columns =
        "response_id, key_id, provider, model_alias, upstream_model, created_at, pending_hold_id, pending_hold_nano, pending_input_bound, conversation_tokens";

    public static ResponseRoute Read(DbDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
        reader.IsDBNull(6) ? null : reader.GetString(6), new Money(reader.GetInt64(7)), reader.GetInt64(8),
        reader.IsDBNull(9) ? null : reader.GetInt64(9));
}
