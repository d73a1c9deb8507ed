using System.Text;
using Microsoft.Data.Sqlite;

namespace Purser.Store.Sqlite;

/// <summary>
/// A newest-first SELECT whose WHERE has only the filters that are set (so SQLite can pick an index): each
/// <see cref="Where"/> adds one condition and its named parameter; <see cref="Finish"/> orders by timestamp (rowid
/// breaking ties by insertion order) and applies the limit, where a non-positive limit means no limit.
/// </summary>
internal sealed class SqliteFilter
{
    private readonly SqliteCommand _command;
    private readonly StringBuilder _sql;
    private string _separator = " WHERE ";

    public SqliteFilter(SqliteCommand command, string select)
    {
        _command = command;
        _sql = new StringBuilder(select, 512);
    }

    /// <summary>Adds <paramref name="condition"/>, which uses <paramref name="parameter"/> bound to <paramref name="value"/>.</summary>
    public void Where(string condition, string parameter, object value)
    {
        _sql.Append(_separator).Append(condition);
        _command.Parameters.AddWithValue(parameter, value);
        _separator = " AND ";
    }

    /// <summary>The optional time range: <c>from</c> inclusive, <c>to</c> exclusive, in Unix milliseconds.</summary>
    public void Between(string column, DateTimeOffset? from, DateTimeOffset? to)
    {
        if (from is { } start)
        {
            Where(column + " >= $from", "$from", start.ToUnixTimeMilliseconds());
        }

        if (to is { } end)
        {
            Where(column + " < $to", "$to", end.ToUnixTimeMilliseconds());
        }
    }

    public SqliteCommand Finish(int limit)
    {
        _sql.Append(" ORDER BY timestamp DESC, rowid DESC LIMIT $limit;");
        _command.Parameters.AddWithValue("$limit", limit > 0 ? limit : -1);
        _command.CommandText = _sql.ToString();
        return _command;
    }
}
