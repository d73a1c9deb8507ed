namespace Purser.Store.Postgres.Ledger;

/// <summary>
/// The ledger's statements. Lock order, which every transaction follows so that none can wait on another in a cycle:
/// a hold row first (settle and expiry; a reserve's own hold row is new, so nobody waits on it), then counter rows in
/// (budget_id, window_key) order, taken by one <c>SELECT … ORDER BY … FOR UPDATE</c> before any counter is changed.
/// </summary>
internal static class PostgresLedgerSql
{
    public const short Held = 0;
    public const short Settled = 1;
    public const short Expired = 2;
    public const short Corrected = 3;

    // DO NOTHING turns a duplicate hold id into "0 rows" instead of an error that would abort the transaction.
    public const string InsertHold =
        """
        INSERT INTO ledger_holds (hold_id, amount_nano, tokens, expires_at_ms, state)
        VALUES ($1, $2, $3, $4, 0)
        ON CONFLICT (hold_id) DO NOTHING
        """;

    // Creates the counters a first request of a window needs, in lock order, so that two reserves creating the same
    // new counters wait on each other's inserts in that order too. Existing rows are left alone, unlocked.
    public const string EnsureCounters =
        """
        INSERT INTO ledger_counters (budget_id, window_key)
        SELECT b, w FROM unnest($1::text[], $2::text[]) AS t(b, w)
        ORDER BY b COLLATE "C", w COLLATE "C"
        ON CONFLICT (budget_id, window_key) DO NOTHING
        """;

    // The unnested keys take the columns' "C" collation: comparing them under the database's default collation
    // would be ambiguous, which PostgreSQL refuses whenever it picks a hashed plan.
    // Locks every counter of the path in key order and returns its latest committed state; the caller checks every
    // cap against these values while nobody else can change them.
    public const string LockCounters =
        """
        SELECT budget_id, window_key, spent_nano, held_nano, spent_tokens, held_tokens
        FROM ledger_counters
        WHERE (budget_id, window_key) IN (SELECT b COLLATE "C", w COLLATE "C" FROM unnest($1::text[], $2::text[]) AS t(b, w))
        ORDER BY budget_id, window_key
        FOR UPDATE
        """;

    // The rows are locked already, so the order in which this updates them does not matter.
    public const string AddHeld =
        """
        UPDATE ledger_counters SET held_nano = held_nano + $3, held_tokens = held_tokens + $4
        WHERE (budget_id, window_key) IN (SELECT b COLLATE "C", w COLLATE "C" FROM unnest($1::text[], $2::text[]) AS t(b, w))
        """;

    public const string InsertLines =
        """
        INSERT INTO ledger_hold_lines (hold_id, line_no, budget_id, window_key, mode)
        SELECT $1, n - 1, b, w, m FROM unnest($2::text[], $3::text[], $4::smallint[]) WITH ORDINALITY AS t(b, w, m, n)
        """;

    public const string ReadCounters =
        """
        SELECT budget_id, window_key, spent_nano, held_nano, spent_tokens, held_tokens
        FROM ledger_counters
        WHERE (budget_id, window_key) IN (SELECT b COLLATE "C", w COLLATE "C" FROM unnest($1::text[], $2::text[]) AS t(b, w))
        """;

    // A byte-wise prefix range (the columns are COLLATE "C") instead of LIKE, whose '_' and '%' are wildcards.
    public const string ListCounters =
        """
        SELECT budget_id, window_key, spent_nano, held_nano, spent_tokens, held_tokens
        FROM ledger_counters
        WHERE window_key = $1 AND budget_id >= $2 AND budget_id < $3
        ORDER BY spent_nano + held_nano DESC, budget_id
        LIMIT $4
        """;

    // Settlement and expiry serialise on the hold row: whichever comes second sees the other's state.
    public const string LockHold = "SELECT amount_nano, tokens, state, reservation_id FROM ledger_holds WHERE hold_id = $1 FOR UPDATE";

    public const string LockHoldCounters =
        """
        SELECT 1 FROM ledger_counters AS c
        JOIN ledger_hold_lines AS l ON l.budget_id = c.budget_id AND l.window_key = c.window_key
        WHERE l.hold_id = $1
        ORDER BY c.budget_id, c.window_key
        FOR UPDATE OF c
        """;

    // spent moves on every line of the hold; held only on its Reserve-mode (0) lines. A hold's lines name distinct
    // counters, so each counter row joins at most one line.
    public const string ApplyHold =
        """
        UPDATE ledger_counters AS c SET
            spent_nano = c.spent_nano + $2,
            spent_tokens = c.spent_tokens + $3,
            held_nano = c.held_nano - (CASE WHEN l.mode = 0 THEN $4 ELSE 0 END),
            held_tokens = c.held_tokens - (CASE WHEN l.mode = 0 THEN $5 ELSE 0 END)
        FROM ledger_hold_lines AS l
        WHERE l.hold_id = $1 AND c.budget_id = l.budget_id AND c.window_key = l.window_key
        """;

    public const string MarkHold = "UPDATE ledger_holds SET state = $2, actual_nano = $3, actual_tokens = $4 WHERE hold_id = $1";

    // SKIP LOCKED: a hold being settled right now is left to its settlement (or the next pass, if that rolls back), and
    // concurrent expiry passes split the due holds between them instead of queueing; each hold is charged once.
    public const string MarkExpired =
        """
        UPDATE ledger_holds SET state = 2
        WHERE hold_id IN (
            SELECT hold_id FROM ledger_holds WHERE state = 0 AND expires_at_ms <= $1 AND reservation_id IS NULL
            FOR UPDATE SKIP LOCKED)
        RETURNING hold_id
        """;

    public const string LockExpiredCounters =
        """
        SELECT 1 FROM ledger_counters
        WHERE (budget_id, window_key) IN (SELECT budget_id, window_key FROM ledger_hold_lines WHERE hold_id = ANY($1))
        ORDER BY budget_id, window_key
        FOR UPDATE
        """;

    // Every expired hold at once, summed per counter so each counter row is updated once.
    public const string ChargeExpired =
        """
        UPDATE ledger_counters AS c SET
            spent_nano = c.spent_nano + x.amount_nano,
            spent_tokens = c.spent_tokens + x.tokens,
            held_nano = c.held_nano - x.held_nano,
            held_tokens = c.held_tokens - x.held_tokens
        FROM (
            SELECT l.budget_id, l.window_key,
                SUM(h.amount_nano)::bigint AS amount_nano,
                SUM(h.tokens)::bigint AS tokens,
                SUM(CASE WHEN l.mode = 0 THEN h.amount_nano ELSE 0 END)::bigint AS held_nano,
                SUM(CASE WHEN l.mode = 0 THEN h.tokens ELSE 0 END)::bigint AS held_tokens
            FROM ledger_holds AS h JOIN ledger_hold_lines AS l ON l.hold_id = h.hold_id
            WHERE h.hold_id = ANY($1)
            GROUP BY l.budget_id, l.window_key) AS x
        WHERE c.budget_id = x.budget_id AND c.window_key = x.window_key
        """;
}
