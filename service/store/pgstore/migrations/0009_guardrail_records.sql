-- 0009: guardrail verdicts on request records.
--
-- guardrails is a JSON array with one object per guardrail that acted on
-- the request: {"policy", "guardrail", "kind", "stage", "action",
-- "categories", "count"}. It names guardrails and categories only, never
-- the text that matched. The partial index serves counting guardrail
-- actions over the records that have any.

ALTER TABLE request_records
    ADD COLUMN guardrails jsonb NOT NULL DEFAULT '[]';
COMMENT ON COLUMN request_records.guardrails IS 'guardrail verdicts: names, actions and categories, never matched text';
