namespace Purser.Bench.Scale;

/// <summary>A reading of <c>pg_stat_database</c>: transactions (committed + rolled back) and rows written.</summary>
internal readonly record struct DatabaseCounters(long Transactions, long RowsWritten);
