-- 0010: a virtual key's response-cache policy.
--
-- cache_policy is the JSON of a routing.Cache ({"mode", "threshold",
-- "ttl", "namespace"}, every field optional); NULL when the key has none
-- and the route's policy and the server's defaults apply. Set at creation.

ALTER TABLE virtual_keys ADD COLUMN cache_policy jsonb;
COMMENT ON COLUMN virtual_keys.cache_policy IS 'response-cache policy overriding the route''s (routing.Cache JSON)';
