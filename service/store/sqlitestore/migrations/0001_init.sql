-- 0001: the whole schema of the embedded store, as of Postgres migration
-- 0060 (pgstore's migrations hold the history; this file is the same
-- model for SQLite). Applied once, inside a transaction, by the migrator.
--
-- Conventions: times are INTEGER microseconds since the Unix epoch (UTC);
-- maps, lists and JSON specs are TEXT holding JSON; booleans are 0 or 1.
-- Versions (etags) come from the one counter in sequences, which every
-- write of a configuration row advances in its transaction.

CREATE TABLE sequences (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO sequences (name, value) VALUES ('version', 0);

CREATE TABLE providers (
    id                TEXT    PRIMARY KEY,
    type              TEXT    NOT NULL,
    base_url          TEXT    NOT NULL DEFAULT '',
    settings          TEXT    NOT NULL DEFAULT '{}',
    sealed_credential BLOB,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    version           INTEGER NOT NULL
);

CREATE TABLE models (
    name                              TEXT    PRIMARY KEY,
    provider_id                       TEXT    NOT NULL REFERENCES providers (id) ON DELETE RESTRICT,
    upstream_model                    TEXT    NOT NULL DEFAULT '',
    context_window                    INTEGER NOT NULL DEFAULT 0,
    max_output_tokens                 INTEGER NOT NULL DEFAULT 0,
    embedding                         INTEGER NOT NULL DEFAULT 0,
    price_input_per_mtok_nanos        INTEGER NOT NULL DEFAULT 0,
    price_output_per_mtok_nanos       INTEGER NOT NULL DEFAULT 0,
    price_cached_input_per_mtok_nanos INTEGER NOT NULL DEFAULT 0,
    price_per_request_nanos           INTEGER NOT NULL DEFAULT 0,
    created_at                        INTEGER NOT NULL,
    updated_at                        INTEGER NOT NULL,
    version                           INTEGER NOT NULL
);
CREATE INDEX models_provider_id_idx ON models (provider_id);

CREATE TABLE teams (
    id           TEXT    PRIMARY KEY,
    display_name TEXT    NOT NULL DEFAULT '',
    labels       TEXT    NOT NULL DEFAULT '{}',
    created_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL
);

CREATE TABLE virtual_keys (
    id                     TEXT    PRIMARY KEY,
    name                   TEXT    NOT NULL DEFAULT '',
    team_id                TEXT    NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    service_id             TEXT    NOT NULL DEFAULT '',
    allowed_models         TEXT    NOT NULL DEFAULT '[]',
    tags                   TEXT    NOT NULL DEFAULT '{}',
    expires_at             INTEGER,
    secret_hash            BLOB    NOT NULL UNIQUE,
    secret_prefix          TEXT    NOT NULL DEFAULT '',
    prev_secret_hash       BLOB,
    prev_secret_expires_at INTEGER,
    created_at             INTEGER NOT NULL,
    revoked_at             INTEGER,
    rotated_at             INTEGER,
    cache_policy           TEXT,
    version                INTEGER NOT NULL,
    CHECK ((prev_secret_hash IS NULL) = (prev_secret_expires_at IS NULL))
);
CREATE UNIQUE INDEX virtual_keys_prev_secret_hash_key
    ON virtual_keys (prev_secret_hash) WHERE prev_secret_hash IS NOT NULL;
CREATE INDEX virtual_keys_created_at_id_idx ON virtual_keys (created_at DESC, id DESC);
CREATE INDEX virtual_keys_team_id_created_at_id_idx ON virtual_keys (team_id, created_at DESC, id DESC);

-- A record is identified by its time and request id, which a retried
-- batch repeats (INSERT OR IGNORE). The table is clustered on that key
-- (WITHOUT ROWID), so that time ranges (summaries, exports, retention)
-- read rows in order without a lookup per row; records arrive nearly in
-- time order, so inserts append. One index per usual filter, each ending
-- in the keyset order of ListRecords.
CREATE TABLE request_records (
    time                INTEGER NOT NULL,
    request_id          TEXT    NOT NULL,
    key_id              TEXT    NOT NULL DEFAULT '',
    team_id             TEXT    NOT NULL DEFAULT '',
    service_id          TEXT    NOT NULL DEFAULT '',
    end_user            TEXT    NOT NULL DEFAULT '',
    tags                TEXT    NOT NULL DEFAULT '[]',
    surface             TEXT    NOT NULL DEFAULT '',
    operation           TEXT    NOT NULL DEFAULT '',
    stream              INTEGER NOT NULL DEFAULT 0,
    requested_model     TEXT    NOT NULL DEFAULT '',
    provider            TEXT    NOT NULL DEFAULT '',
    model               TEXT    NOT NULL DEFAULT '',
    status              INTEGER NOT NULL DEFAULT 0,
    error_code          TEXT    NOT NULL DEFAULT '',
    input_tokens        INTEGER NOT NULL DEFAULT 0,
    output_tokens       INTEGER NOT NULL DEFAULT 0,
    cached_input_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens  INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens    INTEGER NOT NULL DEFAULT 0,
    usage_estimated     INTEGER NOT NULL DEFAULT 0,
    cost_nanos          INTEGER NOT NULL DEFAULT 0,
    latency_us          INTEGER NOT NULL DEFAULT 0,
    ttft_us             INTEGER NOT NULL DEFAULT 0,
    attempts            INTEGER NOT NULL DEFAULT 0,
    partial             INTEGER NOT NULL DEFAULT 0,
    cache_status        TEXT    NOT NULL DEFAULT '',
    saved_nanos         INTEGER NOT NULL DEFAULT 0,
    guardrails          TEXT    NOT NULL DEFAULT '[]',
    PRIMARY KEY (time, request_id)
) WITHOUT ROWID;
CREATE INDEX request_records_team_id_time_idx ON request_records (team_id, time DESC, request_id DESC);
CREATE INDEX request_records_key_id_time_idx ON request_records (key_id, time DESC, request_id DESC);
CREATE INDEX request_records_requested_model_time_idx ON request_records (requested_model, time DESC, request_id DESC);
CREATE INDEX request_records_end_user_time_idx ON request_records (end_user, time DESC, request_id DESC) WHERE end_user <> '';

CREATE TABLE routes (
    name       TEXT    PRIMARY KEY CHECK (name <> ''),
    strategy   TEXT    NOT NULL,
    spec       TEXT    NOT NULL DEFAULT '{}' CHECK (json_type(spec) = 'object'),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL
);

CREATE TABLE budgets (
    id               TEXT    PRIMARY KEY,
    scope            TEXT    NOT NULL CHECK (scope IN ('key', 'team', 'service')),
    team_id          TEXT    NOT NULL DEFAULT '',
    service_id       TEXT    NOT NULL DEFAULT '',
    key_id           TEXT    NOT NULL DEFAULT '',
    period           TEXT    NOT NULL CHECK (period IN ('daily', 'weekly', 'monthly', 'lifetime')),
    time_zone        TEXT    NOT NULL DEFAULT '',
    limit_nanos      INTEGER NOT NULL DEFAULT 0 CHECK (limit_nanos >= 0),
    limit_tokens     INTEGER NOT NULL DEFAULT 0 CHECK (limit_tokens >= 0),
    alert_thresholds TEXT    NOT NULL DEFAULT '[]',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    version          INTEGER NOT NULL
);
CREATE INDEX budgets_team_id_idx ON budgets (team_id);

CREATE TABLE rate_limits (
    id                  TEXT    PRIMARY KEY,
    scope               TEXT    NOT NULL CHECK (scope IN ('key', 'team')),
    team_id             TEXT    NOT NULL DEFAULT '',
    key_id              TEXT    NOT NULL DEFAULT '',
    requests_per_minute INTEGER NOT NULL DEFAULT 0 CHECK (requests_per_minute >= 0),
    tokens_per_minute   INTEGER NOT NULL DEFAULT 0 CHECK (tokens_per_minute >= 0),
    max_concurrent      INTEGER NOT NULL DEFAULT 0 CHECK (max_concurrent >= 0),
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    version             INTEGER NOT NULL
);
CREATE INDEX rate_limits_team_id_idx ON rate_limits (team_id);

CREATE TABLE governance_counters (
    counter      TEXT    NOT NULL,
    window_start INTEGER NOT NULL,
    used_a       INTEGER NOT NULL DEFAULT 0,
    used_b       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (counter, window_start)
) WITHOUT ROWID;

CREATE TABLE governance_leases (
    counter      TEXT    NOT NULL,
    window_start INTEGER NOT NULL,
    holder       TEXT    NOT NULL,
    leased_a     INTEGER NOT NULL DEFAULT 0,
    leased_b     INTEGER NOT NULL DEFAULT 0,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (counter, window_start, holder),
    FOREIGN KEY (counter, window_start) REFERENCES governance_counters ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE guardrail_policies (
    id          TEXT    PRIMARY KEY CHECK (id <> ''),
    description TEXT    NOT NULL DEFAULT '',
    attach_kind TEXT    NOT NULL CHECK (attach_kind IN ('team', 'service', 'key', 'route')),
    attach_to   TEXT    NOT NULL CHECK (attach_to <> ''),
    spec        TEXT    NOT NULL DEFAULT '{}' CHECK (json_type(spec) = 'object'),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL
);
CREATE INDEX guardrail_policies_attachment ON guardrail_policies (attach_kind, attach_to);

CREATE TABLE alert_webhooks (
    id            TEXT    PRIMARY KEY,
    url           TEXT    NOT NULL DEFAULT '',
    sealed_url    BLOB,
    url_hint      TEXT    NOT NULL DEFAULT '',
    sealed_secret BLOB,
    kinds         TEXT    NOT NULL DEFAULT '[]',
    team_id       TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    version       INTEGER NOT NULL
);

CREATE TABLE alert_fired (
    subject      TEXT    NOT NULL,
    period_start INTEGER NOT NULL,
    threshold    INTEGER NOT NULL,
    fired_at     INTEGER NOT NULL,
    PRIMARY KEY (subject, period_start, threshold)
) WITHOUT ROWID;

-- AUTOINCREMENT: an event id is never reused, not even after retention.
CREATE TABLE admin_audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    time          INTEGER NOT NULL,
    actor         TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    resource_kind TEXT    NOT NULL DEFAULT '',
    resource_id   TEXT    NOT NULL DEFAULT '',
    request_id    TEXT    NOT NULL DEFAULT '',
    summary       TEXT    NOT NULL DEFAULT '{}',
    outcome       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX admin_audit_log_time_idx ON admin_audit_log (time DESC, id DESC);
CREATE INDEX admin_audit_log_resource_idx ON admin_audit_log (resource_kind, resource_id, time DESC);

-- The response cache of package semcache. embedding holds the vector as
-- little-endian float32s; semcache keeps the vectors of live entries in an
-- in-process index, rebuilt from this table at start.
CREATE TABLE semcache_entries (
    namespace    TEXT    NOT NULL,
    key          BLOB    NOT NULL,
    model        TEXT    NOT NULL,
    params_hash  BLOB    NOT NULL,
    history_hash BLOB    NOT NULL,
    body         BLOB    NOT NULL,
    size_bytes   INTEGER NOT NULL,
    cost_nanos   INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    embed_model  TEXT,
    embed_dims   INTEGER,
    embedding    BLOB,
    PRIMARY KEY (namespace, key),
    CHECK ((embedding IS NULL) = (embed_model IS NULL) AND (embed_model IS NULL) = (embed_dims IS NULL))
);
CREATE INDEX semcache_entries_expires_idx ON semcache_entries (expires_at);
CREATE INDEX semcache_entries_ns_created_idx ON semcache_entries (namespace, created_at DESC);
CREATE INDEX semcache_entries_embed_idx ON semcache_entries (embed_model, embed_dims) WHERE embedding IS NOT NULL;
