-- 0004: the record ledger and dead letters, as PostgreSQL's 0030 does.
-- A record is named by its (segment, line) in a gateway's record log, so
-- request_records loses its (time, request_id) key: the same request id
-- may be stored twice as lines of two segments. The table is rebuilt
-- (SQLite cannot drop a primary key) as a rowid table.

CREATE TABLE record_batches (
    segment   BLOB    NOT NULL,
    first     INTEGER NOT NULL,
    count     INTEGER NOT NULL CHECK (count > 0),
    stored_at INTEGER NOT NULL,
    PRIMARY KEY (segment, first)
) WITHOUT ROWID;

CREATE TABLE request_records_dead (
    id         INTEGER PRIMARY KEY,
    segment    BLOB    NOT NULL,
    line       INTEGER NOT NULL,
    request_id TEXT    NOT NULL,
    time       INTEGER NOT NULL,
    error      TEXT    NOT NULL,
    code       TEXT    NOT NULL DEFAULT '',
    record     BLOB    NOT NULL,
    dead_at    INTEGER NOT NULL
);
CREATE INDEX request_records_dead_dead_at_idx ON request_records_dead (dead_at);

CREATE TABLE request_records_new (
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
    truncated           INTEGER NOT NULL DEFAULT 0
);
INSERT INTO request_records_new (time, request_id, key_id, team_id, service_id, end_user, tags, surface,
    operation, stream, requested_model, provider, model, status, error_code,
    input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens,
    usage_estimated, cost_nanos, latency_us, ttft_us, attempts, partial, cache_status, saved_nanos, guardrails)
SELECT time, request_id, key_id, team_id, service_id, end_user, tags, surface,
    operation, stream, requested_model, provider, model, status, error_code,
    input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens,
    usage_estimated, cost_nanos, latency_us, ttft_us, attempts, partial, cache_status, saved_nanos, guardrails
FROM request_records ORDER BY time;
DROP TABLE request_records;
ALTER TABLE request_records_new RENAME TO request_records;
CREATE INDEX request_records_time_idx ON request_records (time DESC, request_id DESC);
CREATE INDEX request_records_team_id_time_idx ON request_records (team_id, time DESC, request_id DESC);
CREATE INDEX request_records_key_id_time_idx ON request_records (key_id, time DESC, request_id DESC);
CREATE INDEX request_records_requested_model_time_idx ON request_records (requested_model, time DESC, request_id DESC);
CREATE INDEX request_records_end_user_time_idx ON request_records (end_user, time DESC, request_id DESC) WHERE end_user <> '';
