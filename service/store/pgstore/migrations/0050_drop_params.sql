-- 0050: dropping unsupported request parameters.
--
-- virtual_keys.drop_params lets the gateway leave out request parameters
-- an upstream cannot honour (for example logprobs to a Claude model)
-- instead of refusing the request; routes carry the same switch in their
-- JSON spec. request_records.dropped_params names what was left out.

ALTER TABLE virtual_keys ADD COLUMN drop_params boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN virtual_keys.drop_params IS 'leave out parameters an upstream cannot honour instead of refusing the request';

ALTER TABLE request_records ADD COLUMN dropped_params text[];
COMMENT ON COLUMN request_records.dropped_params IS 'request parameters left out because the upstream cannot honour them';
