namespace Purser.Store.Postgres;

/// <summary>
/// The PostgreSQL schema as ordered migration steps: step N brings the schema from version N-1 to N. Steps are
/// append-only: a released step is never edited, a change is a new step. Tables are created unqualified, in the first
/// schema of the connection's search path, so one database can hold several Purser schemas.
/// </summary>
internal static class PostgresSchema
{
    public static readonly IReadOnlyList<string> Migrations =
    [
        // 1: the budget ledger. Counter keys use the "C" collation so that "ORDER BY budget_id, window_key", the lock
        // order every transaction follows, is plain byte order, the same on every server whatever its locale.
        // ledger_hold_lines has no foreign key to ledger_holds: only the ledger writes both, in one transaction, and a
        // key check would take a share lock on the hold row that settle and expiry then contend with.
        """
        CREATE TABLE ledger_counters (
            budget_id text COLLATE "C" NOT NULL,
            window_key text COLLATE "C" NOT NULL,
            spent_nano bigint NOT NULL DEFAULT 0,
            held_nano bigint NOT NULL DEFAULT 0,
            spent_tokens bigint NOT NULL DEFAULT 0,
            held_tokens bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (budget_id, window_key)
        );
        CREATE TABLE ledger_holds (
            hold_id text NOT NULL PRIMARY KEY,
            amount_nano bigint NOT NULL,
            tokens bigint NOT NULL,
            expires_at_ms bigint NOT NULL,
            state smallint NOT NULL,
            actual_nano bigint,
            actual_tokens bigint
        );
        CREATE INDEX ix_ledger_holds_due ON ledger_holds (expires_at_ms) WHERE state = 0;
        CREATE TABLE ledger_hold_lines (
            hold_id text NOT NULL,
            line_no integer NOT NULL,
            budget_id text COLLATE "C" NOT NULL,
            window_key text COLLATE "C" NOT NULL,
            mode smallint NOT NULL,
            PRIMARY KEY (hold_id, line_no)
        );
        """,

        // 2: the event log, as in SQLite: times in Unix milliseconds, dedupe_key UNIQUE (NULLs distinct) so "append
        // once" is one atomic INSERT across every instance; seq keeps insertion order to break timestamp ties.
        """
        CREATE TABLE events (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text NOT NULL UNIQUE,
            timestamp bigint NOT NULL,
            type text NOT NULL,
            scope text,
            budget_id text,
            window_key text,
            request_id text,
            message text NOT NULL,
            data_json text,
            dedupe_key text UNIQUE,
            recorded_at bigint NOT NULL
        );
        CREATE INDEX ix_events_timestamp ON events (timestamp);
        CREATE INDEX ix_events_type ON events (type, timestamp);
        CREATE INDEX ix_events_scope ON events (scope, timestamp);
        """,

        // 3: usage records, admin-managed keys and budgets, and Bedtime policies: the SQLite store's tables (steps 1, 3,
        // 4 and 5 there) with the same columns and text forms, so every instance sees one usage history, one key and
        // budget list and one set of policies. usage_records.seq keeps insertion order to break timestamp ties (SQLite's
        // rowid); request_id is the primary key so a replayed batch inserts nothing twice.
        """
        CREATE TABLE usage_records (
            seq bigint GENERATED ALWAYS AS IDENTITY,
            request_id text NOT NULL PRIMARY KEY,
            timestamp bigint NOT NULL,
            key_id text NOT NULL,
            model_alias text NOT NULL,
            provider text NOT NULL,
            upstream_model text NOT NULL,
            operation text NOT NULL,
            input_tokens bigint NOT NULL,
            output_tokens bigint NOT NULL,
            cached_input_tokens bigint NOT NULL,
            cache_write_tokens bigint NOT NULL,
            cost_nano bigint NOT NULL,
            status integer NOT NULL,
            error_code text,
            latency_ms bigint NOT NULL,
            streamed boolean NOT NULL,
            source integer NOT NULL,
            task_scope text,
            degraded text
        );
        CREATE INDEX ix_usage_records_timestamp ON usage_records (timestamp, seq);
        CREATE INDEX ix_usage_records_key_id ON usage_records (key_id, timestamp);
        CREATE TABLE admin_keys (
            id text NOT NULL PRIMARY KEY,
            hash text NOT NULL UNIQUE,
            team text,
            allowed_models text NOT NULL,
            expires_at bigint,
            created_at bigint NOT NULL,
            revoked_at bigint
        );
        CREATE TABLE budgets (
            id text NOT NULL PRIMARY KEY,
            scope text NOT NULL,
            window_kind text NOT NULL,
            time_zone text NOT NULL,
            cap_nano bigint,
            cap_tokens bigint,
            enforcement text NOT NULL,
            mode text NOT NULL,
            alert_thresholds text NOT NULL,
            degrade_fallback_model text,
            degrade_min_max_tokens integer,
            created_at bigint NOT NULL,
            updated_at bigint NOT NULL
        );
        CREATE INDEX ix_budgets_scope ON budgets (scope);
        CREATE TABLE bedtime_policies (
            scope text NOT NULL PRIMARY KEY,
            enabled boolean NOT NULL,
            time_zone text NOT NULL,
            hours text NOT NULL,
            baseline_days integer NOT NULL,
            multiplier text NOT NULL,
            floor_nano bigint NOT NULL,
            degrade_model text,
            updated_at bigint NOT NULL
        );
        """,

        // 4: routing and ensemble aliases created through the admin API (the SQLite store's composed_aliases).
        """
        CREATE TABLE composed_aliases (
            alias text COLLATE "C" NOT NULL PRIMARY KEY,
            kind text NOT NULL,
            definition text NOT NULL,
            updated_at bigint NOT NULL
        );
        """,

        // 5: several instances, one truth. config_version: one row whose version every admin change bumps (with a NOTIFY)
        // right after it committed; instances compare it with the version they applied every few seconds, in case they
        // missed the announcement. The dashboard's key ring and sessions, shared by every instance.
        """
        CREATE TABLE config_version (
            id smallint NOT NULL PRIMARY KEY CHECK (id = 1),
            version bigint NOT NULL
        );
        INSERT INTO config_version (id, version) VALUES (1, 0);

        -- The web dashboard, shared by every instance: Data Protection's key ring (so a cookie sealed on one instance
        -- opens on another) and the open sessions (so signing out ends a session everywhere). Times in Unix milliseconds.
        CREATE TABLE dashboard_key_ring (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text NOT NULL,
            xml text NOT NULL
        );
        CREATE TABLE dashboard_sessions (
            id text NOT NULL PRIMARY KEY,
            fingerprint text NOT NULL,
            expires_at bigint NOT NULL
        );
        """,

        // 6: usage roll-ups and retention (the SQLite store's usage_rollups and usage_retention): hourly totals by key,
        // model alias and outcome, backfilled from the records already written, and the horizon below which records
        // were pruned. Self-contained: it reads only columns of step 3.
        """
        CREATE TABLE usage_rollups (
            hour_start bigint NOT NULL,
            key_id text NOT NULL,
            model_alias text NOT NULL,
            outcome text NOT NULL,
            requests bigint NOT NULL,
            input_tokens bigint NOT NULL,
            output_tokens bigint NOT NULL,
            cost_nano bigint NOT NULL,
            degraded_requests bigint NOT NULL,
            PRIMARY KEY (hour_start, key_id, model_alias, outcome)
        );
        INSERT INTO usage_rollups
            SELECT timestamp - (timestamp % 3600000), key_id, model_alias,
                   CASE WHEN source = 2 THEN 'refused' WHEN status < 400 THEN 'ok' ELSE 'failed' END,
                   count(*), sum(input_tokens)::bigint, sum(output_tokens)::bigint, sum(cost_nano)::bigint, count(degraded)
            FROM usage_records GROUP BY 1, 2, 3, 4;
        CREATE TABLE usage_retention (
            id integer NOT NULL PRIMARY KEY CHECK (id = 1),
            pruned_before bigint NOT NULL
        );
        INSERT INTO usage_retention (id, pruned_before) VALUES (1, 0);
        """,

        // 7 (issue 14): task scopes belong to the key that opened them (the SQLite store's budgets.created_by).
        """
        ALTER TABLE budgets ADD COLUMN created_by text;
        CREATE INDEX ix_budgets_created_by ON budgets (created_by) WHERE created_by IS NOT NULL;
        """,

        // 8 (issue 13): the token classes priced apart and the served tier (the SQLite store's step 10).
        """
        ALTER TABLE usage_records ADD COLUMN cache_write_1h_tokens bigint NOT NULL DEFAULT 0;
        ALTER TABLE usage_records ADD COLUMN reasoning_tokens bigint NOT NULL DEFAULT 0;
        ALTER TABLE usage_records ADD COLUMN web_search_requests bigint NOT NULL DEFAULT 0;
        ALTER TABLE usage_records ADD COLUMN service_tier text;
        """,

        // 9 (issue 14): webhooks shared by every instance: the SQLite store's tables (its step 5) with seq for insertion
        // order, and the fan-out cursor on events.seq. A delivery row is claimed by moving next_attempt_ms past a lease
        // (FOR UPDATE SKIP LOCKED), so the partial index serves both the claim and "when is the next one due".
        """
        CREATE TABLE webhook_endpoints (
            id text NOT NULL PRIMARY KEY,
            url text NOT NULL,
            secret text NOT NULL,
            event_types text NOT NULL,
            created_at bigint NOT NULL
        );
        CREATE TABLE webhook_deliveries (
            seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
            id text NOT NULL PRIMARY KEY,
            endpoint_id text NOT NULL,
            event_id text NOT NULL,
            event_type text NOT NULL,
            body text NOT NULL,
            attempts integer NOT NULL,
            next_attempt_ms bigint NOT NULL,
            state smallint NOT NULL,
            last_status integer,
            last_error text,
            created_at bigint NOT NULL,
            UNIQUE (endpoint_id, event_id)
        );
        CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (next_attempt_ms, seq) WHERE state = 0;
        CREATE TABLE webhook_cursor (
            id integer NOT NULL PRIMARY KEY CHECK (id = 1),
            last_seq bigint NOT NULL
        );
        INSERT INTO webhook_cursor (id, last_seq) VALUES (1, 0);
        """,

        // (issue 15) rate limits created through the admin API, and the token buckets instances share (see the SQLite
        // schema): level in sixty-thousandths of a unit, last_grant what the last take granted.
        """
        CREATE TABLE rate_limits (
            id text COLLATE "C" NOT NULL PRIMARY KEY,
            definition text NOT NULL,
            updated_at bigint NOT NULL
        );
        CREATE TABLE rate_limit_buckets (
            bucket text COLLATE "C" NOT NULL PRIMARY KEY,
            level bigint NOT NULL,
            updated_ms bigint NOT NULL,
            last_grant bigint NOT NULL
        );
        """,

        // (issue 15) usage records name the caller's end user and tags; admin keys may trust the body's end user and
        // x-budget-tags; admin budgets gain the end-user template's key or team ("under") and the model a budget is
        // narrowed to.
        """
        ALTER TABLE usage_records ADD COLUMN end_user text;
        ALTER TABLE usage_records ADD COLUMN tags text;
        CREATE INDEX ix_usage_records_end_user ON usage_records (end_user, timestamp) WHERE end_user IS NOT NULL;
        ALTER TABLE budgets ADD COLUMN under_scope text;
        ALTER TABLE admin_keys ADD COLUMN trust_end_user boolean NOT NULL DEFAULT false;
        ALTER TABLE admin_keys ADD COLUMN trust_tags boolean NOT NULL DEFAULT false;
        ALTER TABLE budgets ADD COLUMN model text;
        """,

        // (issue 16): the Responses API's response id -> provider memory, and a background response's pending hold.
        """
        CREATE TABLE response_routes (
            response_id text NOT NULL PRIMARY KEY,
            key_id text NOT NULL,
            provider text NOT NULL,
            model_alias text NOT NULL,
            upstream_model text NOT NULL,
            created_at bigint NOT NULL,
            pending_hold_id text,
            pending_hold_nano bigint NOT NULL DEFAULT 0,
            pending_input_bound bigint NOT NULL DEFAULT 0,
            conversation_tokens bigint
        );
        """,

        // 10 (issue 20): budget reservations, as in SQLite: a tree per root reservation kept whole as one JSON document and
        // locked as a whole (FOR UPDATE on its row), a row per reservation naming its tree, and draws as ledger holds with
        // reservation_id set and no lines of their own.
        """
        ALTER TABLE ledger_holds ADD COLUMN reservation_id text;
        CREATE TABLE ledger_reservation_trees (
            root_id text NOT NULL PRIMARY KEY,
            key_id text NOT NULL,
            created_at_ms bigint NOT NULL,
            next_expiry_ms bigint,
            live boolean NOT NULL,
            tree text NOT NULL
        );
        CREATE INDEX ix_ledger_reservation_trees_expiry ON ledger_reservation_trees (next_expiry_ms) WHERE next_expiry_ms IS NOT NULL;
        CREATE INDEX ix_ledger_reservation_trees_key ON ledger_reservation_trees (key_id, created_at_ms);
        CREATE TABLE ledger_reservations (
            reservation_id text NOT NULL PRIMARY KEY,
            root_id text NOT NULL
        );
        """,

        // (issue 15) admin budgets keep degrade.throttle_rpm, the request rate of a soft budget past its cap.
        """
        ALTER TABLE budgets ADD COLUMN degrade_throttle_rpm integer;
        """,

        // (issue 16) background responses whose hold is still pending, oldest first: what the background sweep settles.
        """
        CREATE INDEX ix_response_routes_pending ON response_routes (created_at) WHERE pending_hold_id IS NOT NULL;
        """,
    ];
}
