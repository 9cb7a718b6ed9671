-- 0005: dropping unsupported request parameters, as PostgreSQL's 0050
-- does: virtual_keys.drop_params, and request_records.dropped_params (a
-- JSON array, NULL when none were dropped).

ALTER TABLE virtual_keys ADD COLUMN drop_params INTEGER NOT NULL DEFAULT 0;
ALTER TABLE request_records ADD COLUMN dropped_params TEXT;
