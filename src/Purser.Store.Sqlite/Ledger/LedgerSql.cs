namespace Purser.Store.Sqlite.Ledger;

/// <summary>The ledger's statements. Each is prepared once per connection and reused with new parameter values.</summary>
internal static class LedgerSql
{
    public const long Held = 0;
    public const long Settled = 1;
    public const long Expired = 2;
    public const long Corrected = 3;

    // DO NOTHING turns a duplicate hold id into "0 rows changed" instead of an exception to unwind.
    public const string InsertHold =
        """
        INSERT INTO ledger_holds (hold_id, amount_nano, tokens, expires_at_ms, state)
        VALUES ($hold_id, $amount_nano, $tokens, $expires_at_ms, 0)
        ON CONFLICT (hold_id) DO NOTHING;
        """;

    // Adds the hold and returns the state after it; the caller checks the cap against (after - hold) and rolls the
    // whole transaction back when a line refuses, so check and update are one statement per line. Post-hoc lines add
    // zero: the row must still exist for settlement and expiry to charge it.
    public const string ChargeLine =
        """
        INSERT INTO ledger_counters (budget_id, window_key, spent_nano, held_nano, spent_tokens, held_tokens)
        VALUES ($budget_id, $window_key, 0, $held_nano, 0, $held_tokens)
        ON CONFLICT (budget_id, window_key) DO UPDATE SET
            held_nano = held_nano + excluded.held_nano,
            held_tokens = held_tokens + excluded.held_tokens
        RETURNING spent_nano, held_nano, spent_tokens, held_tokens;
        """;

    public const string ReadCounter =
        """
        SELECT spent_nano, held_nano, spent_tokens, held_tokens FROM ledger_counters
        WHERE budget_id = $budget_id AND window_key = $window_key;
        """;

    // A byte-wise prefix range instead of LIKE, whose '_' and '%' are wildcards; $prefix_end is the prefix with its
    // last character incremented.
    public const string ListCounters =
        """
        SELECT budget_id, spent_nano, held_nano, spent_tokens, held_tokens FROM ledger_counters
        WHERE window_key = $window_key AND budget_id >= $prefix AND budget_id < $prefix_end
        ORDER BY spent_nano + held_nano DESC, budget_id
        LIMIT $limit;
        """;

    public const string InsertLine =
        """
        INSERT INTO ledger_hold_lines (hold_id, line_no, budget_id, window_key, mode)
        VALUES ($hold_id, $line_no, $budget_id, $window_key, $mode);
        """;

    public const string FindHold = "SELECT amount_nano, tokens, state, reservation_id FROM ledger_holds WHERE hold_id = $hold_id;";

    // spent moves on every line of the hold; held only on its Reserve-mode (0) lines. A hold's lines name distinct
    // counters, so each counter row joins at most one line.
    public const string ApplyHold =
        """
        UPDATE ledger_counters AS c SET
            spent_nano = c.spent_nano + $spent_nano,
            spent_tokens = c.spent_tokens + $spent_tokens,
            held_nano = c.held_nano - (CASE WHEN l.mode = 0 THEN $release_nano ELSE 0 END),
            held_tokens = c.held_tokens - (CASE WHEN l.mode = 0 THEN $release_tokens ELSE 0 END)
        FROM ledger_hold_lines AS l
        WHERE l.hold_id = $hold_id AND c.budget_id = l.budget_id AND c.window_key = l.window_key;
        """;

    public const string MarkHold =
        """
        UPDATE ledger_holds SET state = $state, actual_nano = $actual_nano, actual_tokens = $actual_tokens
        WHERE hold_id = $hold_id;
        """;

    // Every due hold at once, summed per counter so each counter row is updated once.
    public const string ChargeExpired =
        """
        UPDATE ledger_counters AS c SET
            spent_nano = c.spent_nano + x.amount_nano,
            spent_tokens = c.spent_tokens + x.tokens,
            held_nano = c.held_nano - x.held_nano,
            held_tokens = c.held_tokens - x.held_tokens
        FROM (
            SELECT l.budget_id, l.window_key,
                SUM(h.amount_nano) AS amount_nano,
                SUM(h.tokens) AS tokens,
                SUM(CASE WHEN l.mode = 0 THEN h.amount_nano ELSE 0 END) AS held_nano,
                SUM(CASE WHEN l.mode = 0 THEN h.tokens ELSE 0 END) AS held_tokens
            FROM ledger_holds AS h JOIN ledger_hold_lines AS l ON l.hold_id = h.hold_id
            WHERE h.state = 0 AND h.expires_at_ms <= $now_ms
            GROUP BY l.budget_id, l.window_key) AS x
        WHERE c.budget_id = x.budget_id AND c.window_key = x.window_key;
        """;

    public const string MarkExpired = "UPDATE ledger_holds SET state = 2 WHERE state = 0 AND expires_at_ms <= $now_ms;";
}
