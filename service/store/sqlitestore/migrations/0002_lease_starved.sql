-- 0002: starved_until marks a counter whose last grant fell short of what a
-- holder needed (see store.LeaseResult.Starved), as PostgreSQL's 0020 does.

ALTER TABLE governance_counters ADD COLUMN starved_until INTEGER;
