-- 0002: request records, partitioned by day on time.
--
-- Daily partitions are named request_records_pYYYYMMDD and cover
-- [day 00:00 UTC, next day 00:00 UTC). pgstore creates them ahead of time
-- (EnsurePartitions) and drops them for retention (DropPartitionsBefore);
-- rows for a day without a partition land in request_records_default and
-- are moved out when that day's partition is created.
--
-- The primary key makes a retried batch idempotent: a record is identified
-- by its request id and its time, which a retry repeats.

CREATE TABLE request_records (
    time                timestamptz NOT NULL,
    request_id          text        NOT NULL,
    key_id              text        NOT NULL DEFAULT '',
    team_id             text        NOT NULL DEFAULT '',
    service_id          text        NOT NULL DEFAULT '',
    end_user            text        NOT NULL DEFAULT '',
    tags                text[]      NOT NULL DEFAULT '{}',
    surface             text        NOT NULL DEFAULT '',
    operation           text        NOT NULL DEFAULT '',
    stream              boolean     NOT NULL DEFAULT false,
    requested_model     text        NOT NULL DEFAULT '',
    provider            text        NOT NULL DEFAULT '',
    model               text        NOT NULL DEFAULT '',
    status              smallint    NOT NULL DEFAULT 0,
    error_code          text        NOT NULL DEFAULT '',
    input_tokens        bigint      NOT NULL DEFAULT 0,
    output_tokens       bigint      NOT NULL DEFAULT 0,
    cached_input_tokens bigint      NOT NULL DEFAULT 0,
    cache_write_tokens  bigint      NOT NULL DEFAULT 0,
    reasoning_tokens    bigint      NOT NULL DEFAULT 0,
    usage_estimated     boolean     NOT NULL DEFAULT false,
    cost_nanos          bigint      NOT NULL DEFAULT 0,
    latency_us          bigint      NOT NULL DEFAULT 0,
    ttft_us             bigint      NOT NULL DEFAULT 0,
    attempts            integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (time, request_id)
) PARTITION BY RANGE (time);
COMMENT ON COLUMN request_records.status IS 'store.Status (1 = OK)';
COMMENT ON COLUMN request_records.cost_nanos IS 'nano-USD';

CREATE TABLE request_records_default PARTITION OF request_records DEFAULT;

-- One index per usual filter, each ending in the keyset order of
-- ListRecords so that a filtered page is an index range scan.
CREATE INDEX request_records_team_id_time_idx
    ON request_records (team_id, time DESC, request_id DESC);
CREATE INDEX request_records_key_id_time_idx
    ON request_records (key_id, time DESC, request_id DESC);
CREATE INDEX request_records_requested_model_time_idx
    ON request_records (requested_model, time DESC, request_id DESC);
CREATE INDEX request_records_end_user_time_idx
    ON request_records (end_user, time DESC, request_id DESC) WHERE end_user <> '';
