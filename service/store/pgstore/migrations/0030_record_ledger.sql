-- 0030: a cheaper record path.
--
-- Idempotency moves from a primary key checked per row (and the temporary
-- table plus INSERT ... ON CONFLICT it needed) to a ledger checked per
-- batch: every batch names its records by their place in the writing
-- gateway's record log (segment, line), and record_batches holds the line
-- ranges stored, written in the batch's own transaction. A batch that is
-- retried or replayed after a crash finds its lines there and skips them,
-- so records are COPYed straight into their partition.
--
-- Raw records keep only the indexes that listing needs: time (newest
-- first, time ranges), team and time (a team's records), and end user and
-- time for the records that have one. Usage summaries read the rollup
-- tables of 0031 instead of the raw rows, so the per-filter indexes and the
-- GIN index over tags go.

CREATE TABLE record_batches (
    segment   uuid        NOT NULL,
    first     integer     NOT NULL,
    count     integer     NOT NULL CHECK (count > 0),
    stored_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (segment, first)
);
COMMENT ON TABLE record_batches IS 'lines [first, first+count) of record-log segment segment are stored (request_records or request_records_dead)';
CREATE INDEX record_batches_stored_at_idx ON record_batches USING brin (stored_at);

-- Records the database rejected (a data error isolated by splitting the
-- batch), kept with the reason instead of blocking the records after them.
-- record is the record as JSON, as bytes: it may hold what made it fail.
CREATE TABLE request_records_dead (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    segment    uuid        NOT NULL,
    line       integer     NOT NULL,
    request_id text        NOT NULL,
    time       timestamptz NOT NULL,
    error      text        NOT NULL,
    code       text        NOT NULL DEFAULT '',
    record     bytea       NOT NULL,
    dead_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX request_records_dead_dead_at_idx ON request_records_dead (dead_at);

ALTER TABLE request_records ADD COLUMN truncated boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN request_records.truncated IS 'a string was cut or had invalid bytes replaced, or a number clamped, when the record was made';

ALTER TABLE request_records DROP CONSTRAINT request_records_pkey;
DROP INDEX request_records_team_id_time_idx;
DROP INDEX request_records_key_id_time_idx;
DROP INDEX request_records_requested_model_time_idx;
DROP INDEX request_records_end_user_time_idx;
DROP INDEX request_records_tags_idx;
CREATE INDEX request_records_time_idx ON request_records (time);
CREATE INDEX request_records_team_id_time_idx ON request_records (team_id, time);
CREATE INDEX request_records_end_user_time_idx ON request_records (end_user, time) WHERE end_user <> '';
