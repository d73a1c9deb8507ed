namespace Purser.Store.Sqlite;

/// <summary>
/// The schema of the Purser database file as an append-only list of migration steps: step <c>i</c> brings the file
/// from <c>user_version = i</c> to <c>i + 1</c>. Never edit a released step; add a new one (ledger tables too).
/// </summary>
internal static class SqliteSchema
{
    public static readonly IReadOnlyList<string> Migrations =
    [
        // 1: usage records. Money is the exact integer nano-USD; timestamps are unix milliseconds so that range
        // filters and ordering are integer comparisons on an index.
        """
        CREATE TABLE usage_records (
            request_id          TEXT    NOT NULL PRIMARY KEY,
            timestamp           INTEGER NOT NULL,
            key_id              TEXT    NOT NULL,
            model_alias         TEXT    NOT NULL,
            provider            TEXT    NOT NULL,
            upstream_model      TEXT    NOT NULL,
            operation           TEXT    NOT NULL,
            input_tokens        INTEGER NOT NULL,
            output_tokens       INTEGER NOT NULL,
            cached_input_tokens INTEGER NOT NULL,
            cache_write_tokens  INTEGER NOT NULL,
            cost_nano           INTEGER NOT NULL,
            status              INTEGER NOT NULL,
            error_code          TEXT,
            latency_ms          INTEGER NOT NULL,
            streamed            INTEGER NOT NULL,
            source              INTEGER NOT NULL
        );
        CREATE INDEX ix_usage_records_timestamp ON usage_records (timestamp);
        CREATE INDEX ix_usage_records_key_id ON usage_records (key_id, timestamp);
        """,

        // 2: the budget ledger. A counter row per budget and window instance; a hold row per reservation with its
        // lines, so settlement and expiry know which counters to charge and which of them held the amount.
        // ledger_holds.state: 0 held, 1 settled, 2 expired (charged in full), 3 corrected after expiry.
        """
        CREATE TABLE ledger_counters (
            budget_id    TEXT    NOT NULL,
            window_key   TEXT    NOT NULL,
            spent_nano   INTEGER NOT NULL,
            held_nano    INTEGER NOT NULL,
            spent_tokens INTEGER NOT NULL,
            held_tokens  INTEGER NOT NULL,
            PRIMARY KEY (budget_id, window_key)
        ) WITHOUT ROWID;
        CREATE TABLE ledger_holds (
            hold_id       TEXT    NOT NULL PRIMARY KEY,
            amount_nano   INTEGER NOT NULL,
            tokens        INTEGER NOT NULL,
            expires_at_ms INTEGER NOT NULL,
            state         INTEGER NOT NULL,
            actual_nano   INTEGER,
            actual_tokens INTEGER
        );
        CREATE INDEX ix_ledger_holds_state_expires ON ledger_holds (state, expires_at_ms);
        CREATE TABLE ledger_hold_lines (
            hold_id    TEXT    NOT NULL,
            line_no    INTEGER NOT NULL,
            budget_id  TEXT    NOT NULL,
            window_key TEXT    NOT NULL,
            mode       INTEGER NOT NULL,
            PRIMARY KEY (hold_id, line_no)
        ) WITHOUT ROWID;
        """,

        // 3: usage records name the task scope they were charged to and how a request was degraded to fit its budget.
        """
        ALTER TABLE usage_records ADD COLUMN task_scope TEXT;
        ALTER TABLE usage_records ADD COLUMN degraded TEXT;
        """,

        // 4: admin-managed keys and budgets, and the event log. Timestamps are unix milliseconds (UTC). Enums are
        // stored as the words the config file uses so an operator's sqlite3 shell reads them. events.dedupe_key is
        // UNIQUE (NULLs are distinct) so "append once" is one atomic INSERT across every instance.
        """
        CREATE TABLE admin_keys (
            id             TEXT    NOT NULL PRIMARY KEY,
            hash           TEXT    NOT NULL UNIQUE,
            team           TEXT,
            allowed_models TEXT    NOT NULL,
            expires_at     INTEGER,
            created_at     INTEGER NOT NULL,
            revoked_at     INTEGER
        );
        CREATE TABLE budgets (
            id                     TEXT    NOT NULL PRIMARY KEY,
            scope                  TEXT    NOT NULL,
            window_kind            TEXT    NOT NULL,
            time_zone              TEXT    NOT NULL,
            cap_nano               INTEGER,
            cap_tokens             INTEGER,
            enforcement            TEXT    NOT NULL,
            mode                   TEXT    NOT NULL,
            alert_thresholds       TEXT    NOT NULL,
            degrade_fallback_model TEXT,
            degrade_min_max_tokens INTEGER,
            created_at             INTEGER NOT NULL,
            updated_at             INTEGER NOT NULL
        );
        CREATE INDEX ix_budgets_scope ON budgets (scope);
        CREATE TABLE events (
            id          TEXT    NOT NULL PRIMARY KEY,
            timestamp   INTEGER NOT NULL,
            type        TEXT    NOT NULL,
            scope       TEXT,
            budget_id   TEXT,
            window_key  TEXT,
            request_id  TEXT,
            message     TEXT    NOT NULL,
            data_json   TEXT,
            dedupe_key  TEXT    UNIQUE,
            recorded_at INTEGER NOT NULL
        );
        CREATE INDEX ix_events_timestamp ON events (timestamp);
        CREATE INDEX ix_events_type ON events (type, timestamp);
        CREATE INDEX ix_events_scope ON events (scope, timestamp);
        """,

        // 5: Bedtime Mode policies set through the admin API, and webhooks: endpoints, a durable delivery queue (one row
        // per event and endpoint, whose id is the idempotency key sent with every attempt) and the fan-out cursor over
        // events.rowid, so deliveries resume after a restart and no event is queued twice.
        """
        CREATE TABLE bedtime_policies (
            scope          TEXT    NOT NULL PRIMARY KEY,
            enabled        INTEGER NOT NULL,
            time_zone      TEXT    NOT NULL,
            hours          TEXT    NOT NULL,
            baseline_days  INTEGER NOT NULL,
            multiplier     TEXT    NOT NULL,
            floor_nano     INTEGER NOT NULL,
            degrade_model  TEXT,
            updated_at     INTEGER NOT NULL
        );
        CREATE TABLE webhook_endpoints (
            id          TEXT    NOT NULL PRIMARY KEY,
            url         TEXT    NOT NULL,
            secret      TEXT    NOT NULL,
            event_types TEXT    NOT NULL,
            created_at  INTEGER NOT NULL
        );
        CREATE TABLE webhook_deliveries (
            id              TEXT    NOT NULL PRIMARY KEY,
            endpoint_id     TEXT    NOT NULL,
            event_id        TEXT    NOT NULL,
            event_type      TEXT    NOT NULL,
            body            TEXT    NOT NULL,
            attempts        INTEGER NOT NULL,
            next_attempt_ms INTEGER NOT NULL,
            state           INTEGER NOT NULL,
            last_status     INTEGER,
            last_error      TEXT,
            created_at      INTEGER NOT NULL,
            UNIQUE (endpoint_id, event_id)
        );
        CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (state, next_attempt_ms);
        CREATE TABLE webhook_cursor (
            id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
            last_rowid INTEGER NOT NULL
        );
        INSERT INTO webhook_cursor (id, last_rowid) VALUES (1, 0);
        """,

        // 6: routing and ensemble aliases created through the admin API. The definition is the JSON body the API
        // accepted, parsed again by the config file's rules at every load; one row per alias, whatever its kind.
        """
        CREATE TABLE composed_aliases (
            alias      TEXT    NOT NULL PRIMARY KEY,
            kind       TEXT    NOT NULL,
            definition TEXT    NOT NULL,
            updated_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        """,

        // 7: the web dashboard: Data Protection's key ring (the XML elements it stores, in order) and the open sessions,
        // so that signing out ends a session for every copy of its cookie. Times are unix milliseconds (UTC).
        """
        CREATE TABLE dashboard_key_ring (
            seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
            name       TEXT    NOT NULL,
            xml        TEXT    NOT NULL
        );
        CREATE TABLE dashboard_sessions (
            id          TEXT    NOT NULL PRIMARY KEY,
            fingerprint TEXT    NOT NULL,
            expires_at  INTEGER NOT NULL
        ) WITHOUT ROWID;
        """,

        // 8: usage roll-ups and retention: the totals of each UTC hour by key, model alias and outcome ('ok', 'refused',
        // 'failed'), maintained in the transaction that writes the records (and backfilled here from the records
        // already written), and the horizon below which records were pruned, so that sums over older time read the
        // roll-ups. Self-contained: it reads only columns of step 1.
        """
        CREATE TABLE usage_rollups (
            hour_start        INTEGER NOT NULL,
            key_id            TEXT    NOT NULL,
            model_alias       TEXT    NOT NULL,
            outcome           TEXT    NOT NULL,
            requests          INTEGER NOT NULL,
            input_tokens      INTEGER NOT NULL,
            output_tokens     INTEGER NOT NULL,
            cost_nano         INTEGER NOT NULL,
            degraded_requests INTEGER NOT NULL,
            PRIMARY KEY (hour_start, key_id, model_alias, outcome)
        ) WITHOUT ROWID;
        INSERT INTO usage_rollups
            SELECT timestamp - (timestamp % 3600000), key_id, model_alias,
                   CASE WHEN source = 2 THEN 'refused' WHEN status < 400 THEN 'ok' ELSE 'failed' END,
                   COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cost_nano), COUNT(degraded)
            FROM usage_records GROUP BY 1, 2, 3, 4;
        CREATE TABLE usage_retention (
            id            INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
            pruned_before INTEGER NOT NULL
        );
        INSERT INTO usage_retention (id, pruned_before) VALUES (1, 0);
        """,

        // 9 (issue 14): task scopes belong to the key that opened them. created_by is set only on task budgets; the
        // partial index makes "open tasks of this key" an index count, and a task lookup is a primary-key probe.
        """
        ALTER TABLE budgets ADD COLUMN created_by TEXT;
        CREATE INDEX ix_budgets_created_by ON budgets (created_by) WHERE created_by IS NOT NULL;
        """,

        // 10 (issue 13): the token classes priced apart — 1-hour cache writes (part of cache_write_tokens), reasoning
        // (part of output_tokens), web searches billed per use — and the service tier the provider served the call at.
        """
        ALTER TABLE usage_records ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE usage_records ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE usage_records ADD COLUMN web_search_requests INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE usage_records ADD COLUMN service_tier TEXT;
        """,

        // (issue 15) rate limits created through the admin API (the body as the file's rate_limits entry would hold
        // it, parsed again at every load), and the token buckets instances share: level in sixty-thousandths of a unit,
        // last_grant the units the last take granted (returned by that take's UPDATE).
        """
        CREATE TABLE rate_limits (
            id         TEXT    NOT NULL PRIMARY KEY,
            definition TEXT    NOT NULL,
            updated_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE rate_limit_buckets (
            bucket     TEXT    NOT NULL PRIMARY KEY,
            level      INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL,
            last_grant INTEGER NOT NULL
        ) WITHOUT ROWID;
        """,

        // (issue 15) usage records name the caller's end user and tags; admin keys may trust the body's end user and
        // x-budget-tags; admin budgets gain the end-user template's key or team ("under") and the model a budget is
        // narrowed to.
        """
        ALTER TABLE usage_records ADD COLUMN end_user TEXT;
        ALTER TABLE usage_records ADD COLUMN tags TEXT;
        CREATE INDEX ix_usage_records_end_user ON usage_records (end_user, timestamp) WHERE end_user IS NOT NULL;
        ALTER TABLE budgets ADD COLUMN under_scope TEXT;
        ALTER TABLE admin_keys ADD COLUMN trust_end_user INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE admin_keys ADD COLUMN trust_tags INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE budgets ADD COLUMN model TEXT;
        """,

        // (issue 16): the Responses API's response id -> provider memory, and a background response's pending hold.
        """
        CREATE TABLE response_routes (
            response_id TEXT NOT NULL PRIMARY KEY,
            key_id TEXT NOT NULL,
            provider TEXT NOT NULL,
            model_alias TEXT NOT NULL,
            upstream_model TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            pending_hold_id TEXT,
            pending_hold_nano INTEGER NOT NULL DEFAULT 0,
            pending_input_bound INTEGER NOT NULL DEFAULT 0,
            conversation_tokens INTEGER
        );
        """,

        // 11 (issue 20): budget reservations. A tree per root reservation, kept whole as one JSON document (locked and
        // rewritten as a whole, so every rule runs on a consistent tree); a row per reservation naming its tree. The
        // root holds its amount on its lines as the ledger hold 'reservation:<id>', which never expires by itself; a
        // draw is a ledger hold with reservation_id set and no lines of its own.
        """
        ALTER TABLE ledger_holds ADD COLUMN reservation_id TEXT;
        CREATE TABLE ledger_reservation_trees (
            root_id        TEXT    NOT NULL PRIMARY KEY,
            key_id         TEXT    NOT NULL,
            created_at_ms  INTEGER NOT NULL,
            next_expiry_ms INTEGER,
            live           INTEGER NOT NULL,
            tree           TEXT    NOT NULL
        );
        CREATE INDEX ix_ledger_reservation_trees_expiry ON ledger_reservation_trees (next_expiry_ms) WHERE next_expiry_ms IS NOT NULL;
        CREATE INDEX ix_ledger_reservation_trees_key ON ledger_reservation_trees (key_id, created_at_ms);
        CREATE TABLE ledger_reservations (
            reservation_id TEXT NOT NULL PRIMARY KEY,
            root_id        TEXT NOT NULL
        ) WITHOUT ROWID;
        """,

        // (issue 15) admin budgets keep degrade.throttle_rpm, the request rate of a soft budget past its cap.
        """
        ALTER TABLE budgets ADD COLUMN degrade_throttle_rpm INTEGER;
        """,

        // (issue 16) background responses whose hold is still pending, oldest first: what the background sweep settles.
        """
        CREATE INDEX ix_response_routes_pending ON response_routes (created_at) WHERE pending_hold_id IS NOT NULL;
        """,
    ];
}
