-- 0008: response-cache accounting on request records.
--
-- cache_status is the semcache outcome of the request ("hit-exact",
-- "hit-semantic", "miss", "bypass"; '' when no lookup applied) and
-- saved_nanos the upstream cost a hit saved (its cost_nanos is 0).

ALTER TABLE request_records
    ADD COLUMN cache_status text   NOT NULL DEFAULT '',
    ADD COLUMN saved_nanos  bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN request_records.saved_nanos IS 'nano-USD a cache hit saved';
