-- 0031: usage rollups, maintained incrementally.
--
-- Every batch of request records adds its totals per minute to the
-- *_minute tables, in the transaction that stores the records, so they are
-- exactly as current as request_records, and marks the hours it touched in
-- usage_dirty_hours. Store.CompactUsage recomputes the *_hour tables of
-- dirty hours from the minute tables, marks them clean, and recomputes the
-- *_day tables of days left without dirty hours. A usage summary reads whole
-- days without dirty hours from the *_day tables, other whole hours from the
-- *_hour tables if clean and from the *_minute tables if dirty, the whole
-- minutes at the edges of its range from the *_minute tables, and only the
-- partial minutes at its ends from request_records. bucket is the start of
-- the minute, hour or day (UTC); model is the requested model; every
-- measure is summed over the bucket's records. The hour and day tables,
-- written only by compaction, also have an index on team and bucket.
--
-- Four families, by what a summary may group by:
--   usage            team, service, key, model, provider
--   usage_end_user   the same and end_user, for records that have one (the
--                    records without one are usage minus usage_end_user)
--   usage_tag        the same and tag ('' for a record without tags)
--   usage_guardrail  the same and guardrail, one row per verdict
-- Existing records are rolled up below, hours included.

-- Hours whose *_hour rows may lag behind the *_minute rows. A batch upserts
-- its hours here after its minute rows; compacting an hour locks its row
-- first, so a batch still in flight marks the hour dirty again afterwards.
CREATE TABLE usage_dirty_hours (
    hour       timestamptz PRIMARY KEY,
    touched_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE usage_minute (
    bucket              timestamptz NOT NULL,
    team_id             text   NOT NULL,
    service_id          text   NOT NULL,
    key_id              text   NOT NULL,
    model               text   NOT NULL,
    provider            text   NOT NULL,
    requests            bigint NOT NULL,
    errors              bigint NOT NULL,
    input_tokens        bigint NOT NULL,
    output_tokens       bigint NOT NULL,
    cached_input_tokens bigint NOT NULL,
    cost_nanos          bigint NOT NULL,
    cache_hits          bigint NOT NULL,
    saved_nanos         bigint NOT NULL,
    PRIMARY KEY (bucket, team_id, service_id, key_id, model, provider)
);
COMMENT ON TABLE usage_minute IS 'usage totals per minute: every record';

CREATE TABLE usage_hour (
    bucket              timestamptz NOT NULL,
    team_id             text   NOT NULL,
    service_id          text   NOT NULL,
    key_id              text   NOT NULL,
    model               text   NOT NULL,
    provider            text   NOT NULL,
    requests            bigint NOT NULL,
    errors              bigint NOT NULL,
    input_tokens        bigint NOT NULL,
    output_tokens       bigint NOT NULL,
    cached_input_tokens bigint NOT NULL,
    cost_nanos          bigint NOT NULL,
    cache_hits          bigint NOT NULL,
    saved_nanos         bigint NOT NULL,
    PRIMARY KEY (bucket, team_id, service_id, key_id, model, provider)
);
COMMENT ON TABLE usage_hour IS 'usage totals per hour: every record';

CREATE INDEX usage_hour_team_id_bucket_idx ON usage_hour (team_id, bucket);

CREATE TABLE usage_day (
    bucket              timestamptz NOT NULL,
    team_id             text   NOT NULL,
    service_id          text   NOT NULL,
    key_id              text   NOT NULL,
    model               text   NOT NULL,
    provider            text   NOT NULL,
    requests            bigint NOT NULL,
    errors              bigint NOT NULL,
    input_tokens        bigint NOT NULL,
    output_tokens       bigint NOT NULL,
    cached_input_tokens bigint NOT NULL,
    cost_nanos          bigint NOT NULL,
    cache_hits          bigint NOT NULL,
    saved_nanos         bigint NOT NULL,
    PRIMARY KEY (bucket, team_id, service_id, key_id, model, provider)
);
COMMENT ON TABLE usage_day IS 'usage totals per day: every record';

CREATE INDEX usage_day_team_id_bucket_idx ON usage_day (team_id, bucket);

CREATE TABLE usage_end_user_minute (
    bucket              timestamptz NOT NULL,
    team_id             text   NOT NULL,
    service_id          text   NOT NULL,
    key_id              text   NOT NULL,
    model               text   NOT NULL,
    provider            text   NOT NULL,
    end_user            text   NOT NULL,
    requests            bigint NOT NULL,
    errors              bigint NOT NULL,
    input_tokens        bigint NOT NULL,
    output_tokens       bigint NOT NULL,
    cached_input_tokens bigint NOT NULL,
    cost_nanos          bigint NOT NULL,
    cache_hits          bigint NOT NULL,
    saved_nanos         bigint NOT NULL,
    PRIMARY KEY (bucket, team_id, service_id, key_id, model, provider, end_user)
);
COMMENT ON TABLE usage_end_user_minute IS 'usage totals per minute: records with an end user';

CREATE TABLE usage_end_user_hour (
    bucket              timestamptz NOT NULL,
    team_id             text   NOT NULL,
    service_id          text   NOT NULL,
    key_id              text   NOT NULL,
    model               text   NOT NULL,
    provider            text   NOT NULL,
    end_user            text   NOT NULL,
    requests            bigint NOT NULL,
    errors              bigint NOT NULL,
    input_tokens        bigint NOT NULL,
    output_tokens       bigint NOT NULL,
    cached_input_tokens bigint NOT NULL,
    cost_nanos          bigint NOT NULL,
    cache_hits          bigint NOT NULL,
    saved_nanos         bigint NOT NULL,
    PRIMARY KEY (bucket, team_id, service_id, key_id, model, provider, end_user)
);
COMMENT ON TABLE usage_end_user_hour IS 'usage totals per hour: records with an end user';

CREATE INDEX usage_end_user_hour_team_id_bucket_idx ON usage_end_user_hour (team_id, bucket);

CREATE TABLE usage_end_user_day (
    bucket              timestamptz NOT NULL,
    team_id             text   NOT NULL,
    service_id          text   NOT NULL,
    key_id              text   NOT NULL,
    model               text   NOT NULL,
    provider            text   NOT NULL,
    end_user            text   NOT NULL,
    requests            bigint NOT NULL,
    errors              bigint NOT NULL,
    input_tokens        bigint NOT NULL,
    output_tokens       bigint NOT NULL,
    cached_input_tokens bigint NOT NULL,
    cost_nanos          bigint NOT NULL,
    cache_hits          bigint NOT NULL,
    saved_nanos         bigint NOT NULL,
    PRIMARY KEY (bucket, team_id, service_id, key_id, model, provider, end_user)
);
COMMENT ON TABLE usage_end_user_day IS 'usage totals per day: records with an end user';

CREATE INDEX usage_end_user_day_team_id_bucket_idx ON usage_end_user_day (team_id, bucket);

CREATE TABLE usage_tag_minute (
    bucket              timestamptz NOT NULL,
    team_id             text   NOT NULL,
    service_id          text   NOT NULL,
    key_id              text   NOT NULL,
    model               text   NOT NULL,
    provider            text   NOT NULL,
    tag                 text   NOT NULL,
    requests            bigint NOT NULL,
    errors              bigint NOT NULL,
    input_tokens        bigint NOT NULL,
    output_tokens       bigint NOT NULL,
    cached_input_tokens bigint NOT NULL,
    cost_nanos          bigint NOT NULL,
    cache_hits          bigint NOT NULL,
    saved_nanos         bigint NOT NULL,
    PRIMARY KEY (bucket, team_id, service_id, key_id, model, provider, tag)
);
COMMENT ON TABLE usage_tag_minute IS 'usage totals per minute: one row per tag of a record, '' for a record without tags';

CREATE TABLE usage_tag_hour (
    bucket              timestamptz NOT NULL,
    team_id             text   NOT NULL,
    service_id          text   NOT NULL,
    key_id              text   NOT NULL,
    model               text   NOT NULL,
    provider            text   NOT NULL,
    tag                 text   NOT NULL,
    requests            bigint NOT NULL,
    errors              bigint NOT NULL,
    input_tokens        bigint NOT NULL,
    output_tokens       bigint NOT NULL,
    cached_input_tokens bigint NOT NULL,
    cost_nanos          bigint NOT NULL,
    cache_hits          bigint NOT NULL,
    saved_nanos         bigint NOT NULL,
    PRIMARY KEY (bucket, team_id, service_id, key_id, model, provider, tag)
);
COMMENT ON TABLE usage_tag_hour IS 'usage totals per hour: one row per tag of a record, '' for a record without tags';

CREATE INDEX usage_tag_hour_team_id_bucket_idx ON usage_tag_hour (team_id, bucket);

CREATE TABLE usage_tag_day (
    bucket              timestamptz NOT NULL,
    team_id             text   NOT NULL,
    service_id          text   NOT NULL,
    key_id              text   NOT NULL,
    model               text   NOT NULL,
    provider            text   NOT NULL,
    tag                 text   NOT NULL,
    requests            bigint NOT NULL,
    errors              bigint NOT NULL,
    input_tokens        bigint NOT NULL,
    output_tokens       bigint NOT NULL,
    cached_input_tokens bigint NOT NULL,
    cost_nanos          bigint NOT NULL,
    cache_hits          bigint NOT NULL,
    saved_nanos         bigint NOT NULL,
    PRIMARY KEY (bucket, team_id, service_id, key_id, model, provider, tag)
);
COMMENT ON TABLE usage_tag_day IS 'usage totals per day: one row per tag of a record, '' for a record without tags';

CREATE INDEX usage_tag_day_team_id_bucket_idx ON usage_tag_day (team_id, bucket);

CREATE TABLE usage_guardrail_minute (
    bucket              timestamptz NOT NULL,
    team_id             text   NOT NULL,
    service_id          text   NOT NULL,
    key_id              text   NOT NULL,
    model               text   NOT NULL,
    provider            text   NOT NULL,
    guardrail           text   NOT NULL,
    requests            bigint NOT NULL,
    errors              bigint NOT NULL,
    input_tokens        bigint NOT NULL,
    output_tokens       bigint NOT NULL,
    cached_input_tokens bigint NOT NULL,
    cost_nanos          bigint NOT NULL,
    cache_hits          bigint NOT NULL,
    saved_nanos         bigint NOT NULL,
    PRIMARY KEY (bucket, team_id, service_id, key_id, model, provider, guardrail)
);
COMMENT ON TABLE usage_guardrail_minute IS 'usage totals per minute: one row per guardrail verdict of a record, as policy/guardrail:action';

CREATE TABLE usage_guardrail_hour (
    bucket              timestamptz NOT NULL,
    team_id             text   NOT NULL,
    service_id          text   NOT NULL,
    key_id              text   NOT NULL,
    model               text   NOT NULL,
    provider            text   NOT NULL,
    guardrail           text   NOT NULL,
    requests            bigint NOT NULL,
    errors              bigint NOT NULL,
    input_tokens        bigint NOT NULL,
    output_tokens       bigint NOT NULL,
    cached_input_tokens bigint NOT NULL,
    cost_nanos          bigint NOT NULL,
    cache_hits          bigint NOT NULL,
    saved_nanos         bigint NOT NULL,
    PRIMARY KEY (bucket, team_id, service_id, key_id, model, provider, guardrail)
);
COMMENT ON TABLE usage_guardrail_hour IS 'usage totals per hour: one row per guardrail verdict of a record, as policy/guardrail:action';

CREATE INDEX usage_guardrail_hour_team_id_bucket_idx ON usage_guardrail_hour (team_id, bucket);

CREATE TABLE usage_guardrail_day (
    bucket              timestamptz NOT NULL,
    team_id             text   NOT NULL,
    service_id          text   NOT NULL,
    key_id              text   NOT NULL,
    model               text   NOT NULL,
    provider            text   NOT NULL,
    guardrail           text   NOT NULL,
    requests            bigint NOT NULL,
    errors              bigint NOT NULL,
    input_tokens        bigint NOT NULL,
    output_tokens       bigint NOT NULL,
    cached_input_tokens bigint NOT NULL,
    cost_nanos          bigint NOT NULL,
    cache_hits          bigint NOT NULL,
    saved_nanos         bigint NOT NULL,
    PRIMARY KEY (bucket, team_id, service_id, key_id, model, provider, guardrail)
);
COMMENT ON TABLE usage_guardrail_day IS 'usage totals per day: one row per guardrail verdict of a record, as policy/guardrail:action';

CREATE INDEX usage_guardrail_day_team_id_bucket_idx ON usage_guardrail_day (team_id, bucket);

-- Roll up the records stored so far.
INSERT INTO usage_minute
SELECT date_trunc('minute', time, 'UTC'), team_id, service_id, key_id, requested_model, provider,
    count(*), count(*) FILTER (WHERE status <> 1), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens),
    sum(cost_nanos), count(*) FILTER (WHERE cache_status LIKE 'hit-%'), sum(saved_nanos)
FROM request_records
GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO usage_hour
SELECT date_trunc('hour', time, 'UTC'), team_id, service_id, key_id, requested_model, provider,
    count(*), count(*) FILTER (WHERE status <> 1), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens),
    sum(cost_nanos), count(*) FILTER (WHERE cache_status LIKE 'hit-%'), sum(saved_nanos)
FROM request_records
GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO usage_day
SELECT date_trunc('day', time, 'UTC'), team_id, service_id, key_id, requested_model, provider,
    count(*), count(*) FILTER (WHERE status <> 1), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens),
    sum(cost_nanos), count(*) FILTER (WHERE cache_status LIKE 'hit-%'), sum(saved_nanos)
FROM request_records
GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO usage_end_user_minute
SELECT date_trunc('minute', time, 'UTC'), team_id, service_id, key_id, requested_model, provider, end_user,
    count(*), count(*) FILTER (WHERE status <> 1), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens),
    sum(cost_nanos), count(*) FILTER (WHERE cache_status LIKE 'hit-%'), sum(saved_nanos)
FROM request_records WHERE end_user <> ''
GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO usage_end_user_hour
SELECT date_trunc('hour', time, 'UTC'), team_id, service_id, key_id, requested_model, provider, end_user,
    count(*), count(*) FILTER (WHERE status <> 1), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens),
    sum(cost_nanos), count(*) FILTER (WHERE cache_status LIKE 'hit-%'), sum(saved_nanos)
FROM request_records WHERE end_user <> ''
GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO usage_end_user_day
SELECT date_trunc('day', time, 'UTC'), team_id, service_id, key_id, requested_model, provider, end_user,
    count(*), count(*) FILTER (WHERE status <> 1), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens),
    sum(cost_nanos), count(*) FILTER (WHERE cache_status LIKE 'hit-%'), sum(saved_nanos)
FROM request_records WHERE end_user <> ''
GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO usage_tag_minute
SELECT date_trunc('minute', time, 'UTC'), team_id, service_id, key_id, requested_model, provider, tag,
    count(*), count(*) FILTER (WHERE status <> 1), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens),
    sum(cost_nanos), count(*) FILTER (WHERE cache_status LIKE 'hit-%'), sum(saved_nanos)
FROM request_records CROSS JOIN LATERAL unnest(CASE WHEN cardinality(tags) = 0 THEN '{""}'::text[] ELSE tags END) AS t(tag)
GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO usage_tag_hour
SELECT date_trunc('hour', time, 'UTC'), team_id, service_id, key_id, requested_model, provider, tag,
    count(*), count(*) FILTER (WHERE status <> 1), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens),
    sum(cost_nanos), count(*) FILTER (WHERE cache_status LIKE 'hit-%'), sum(saved_nanos)
FROM request_records CROSS JOIN LATERAL unnest(CASE WHEN cardinality(tags) = 0 THEN '{""}'::text[] ELSE tags END) AS t(tag)
GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO usage_tag_day
SELECT date_trunc('day', time, 'UTC'), team_id, service_id, key_id, requested_model, provider, tag,
    count(*), count(*) FILTER (WHERE status <> 1), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens),
    sum(cost_nanos), count(*) FILTER (WHERE cache_status LIKE 'hit-%'), sum(saved_nanos)
FROM request_records CROSS JOIN LATERAL unnest(CASE WHEN cardinality(tags) = 0 THEN '{""}'::text[] ELSE tags END) AS t(tag)
GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO usage_guardrail_minute
SELECT date_trunc('minute', time, 'UTC'), team_id, service_id, key_id, requested_model, provider, guardrail,
    count(*), count(*) FILTER (WHERE status <> 1), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens),
    sum(cost_nanos), count(*) FILTER (WHERE cache_status LIKE 'hit-%'), sum(saved_nanos)
FROM request_records CROSS JOIN LATERAL (SELECT coalesce(v->>'policy', '') || '/' || coalesce(v->>'guardrail', '') || ':' || coalesce(v->>'action', '') FROM jsonb_array_elements(guardrails) AS v) AS g(guardrail)
GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO usage_guardrail_hour
SELECT date_trunc('hour', time, 'UTC'), team_id, service_id, key_id, requested_model, provider, guardrail,
    count(*), count(*) FILTER (WHERE status <> 1), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens),
    sum(cost_nanos), count(*) FILTER (WHERE cache_status LIKE 'hit-%'), sum(saved_nanos)
FROM request_records CROSS JOIN LATERAL (SELECT coalesce(v->>'policy', '') || '/' || coalesce(v->>'guardrail', '') || ':' || coalesce(v->>'action', '') FROM jsonb_array_elements(guardrails) AS v) AS g(guardrail)
GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO usage_guardrail_day
SELECT date_trunc('day', time, 'UTC'), team_id, service_id, key_id, requested_model, provider, guardrail,
    count(*), count(*) FILTER (WHERE status <> 1), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens),
    sum(cost_nanos), count(*) FILTER (WHERE cache_status LIKE 'hit-%'), sum(saved_nanos)
FROM request_records CROSS JOIN LATERAL (SELECT coalesce(v->>'policy', '') || '/' || coalesce(v->>'guardrail', '') || ':' || coalesce(v->>'action', '') FROM jsonb_array_elements(guardrails) AS v) AS g(guardrail)
GROUP BY 1, 2, 3, 4, 5, 6, 7;
