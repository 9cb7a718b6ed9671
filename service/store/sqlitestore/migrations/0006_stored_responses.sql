-- 0006: stored responses of the Responses API, as PostgreSQL's 0100 does
-- (created_at in microseconds since the epoch; input and response JSON
-- text).

CREATE TABLE stored_responses (
	id          TEXT PRIMARY KEY,
	team_id     TEXT NOT NULL,
	key_id      TEXT NOT NULL,
	previous_id TEXT NOT NULL DEFAULT '',
	model       TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	input       TEXT NOT NULL,
	response    TEXT NOT NULL
);
CREATE INDEX stored_responses_created_at ON stored_responses (created_at);
