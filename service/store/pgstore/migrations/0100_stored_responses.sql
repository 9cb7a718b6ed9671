-- 0100: stored responses of the Responses API (/v1/responses).
--
-- A response created with store: true (the default) is kept per team for
-- previous_response_id, GET /v1/responses/{id} and its input items, until
-- the retention setting (-responses-retention) prunes it. input is the
-- JSON array of input items the model saw, response the response object;
-- both are kept as sent (json, not jsonb: member order is preserved).

CREATE TABLE stored_responses (
	id          text PRIMARY KEY,
	team_id     text NOT NULL,
	key_id      text NOT NULL,
	previous_id text NOT NULL DEFAULT '',
	model       text NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	input       json NOT NULL,
	response    json NOT NULL
);
CREATE INDEX stored_responses_created_at ON stored_responses (created_at);
COMMENT ON TABLE stored_responses IS 'Responses API responses kept for previous_response_id and GET /v1/responses/{id}, per team';
