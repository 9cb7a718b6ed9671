-- 0004: budgets, rate limits and the shared counters replicas lease from.

CREATE TABLE budgets (
    id           text        PRIMARY KEY,
    scope        text        NOT NULL CHECK (scope IN ('key', 'team', 'service')),
    team_id      text        NOT NULL DEFAULT '',
    service_id   text        NOT NULL DEFAULT '',
    key_id       text        NOT NULL DEFAULT '',
    period       text        NOT NULL CHECK (period IN ('daily', 'weekly', 'monthly', 'lifetime')),
    time_zone    text        NOT NULL DEFAULT '',
    limit_nanos  bigint      NOT NULL DEFAULT 0 CHECK (limit_nanos >= 0),
    limit_tokens bigint      NOT NULL DEFAULT 0 CHECK (limit_tokens >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN budgets.limit_nanos IS 'nano-USD per period; 0 = no money limit';
CREATE INDEX budgets_team_id_idx ON budgets (team_id);

CREATE TABLE rate_limits (
    id                  text        PRIMARY KEY,
    scope               text        NOT NULL CHECK (scope IN ('key', 'team')),
    team_id             text        NOT NULL DEFAULT '',
    key_id              text        NOT NULL DEFAULT '',
    requests_per_minute bigint      NOT NULL DEFAULT 0 CHECK (requests_per_minute >= 0),
    tokens_per_minute   bigint      NOT NULL DEFAULT 0 CHECK (tokens_per_minute >= 0),
    max_concurrent      bigint      NOT NULL DEFAULT 0 CHECK (max_concurrent >= 0),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rate_limits_team_id_idx ON rate_limits (team_id);

-- A counter per budget period or rate window: what has been spent for
-- sure (used_*), plus the live leases replicas spend from memory.
CREATE TABLE governance_counters (
    counter      text        NOT NULL,
    window_start timestamptz NOT NULL,
    used_a       bigint      NOT NULL DEFAULT 0,
    used_b       bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (counter, window_start)
);

CREATE TABLE governance_leases (
    counter      text        NOT NULL,
    window_start timestamptz NOT NULL,
    holder       text        NOT NULL,
    leased_a     bigint      NOT NULL DEFAULT 0,
    leased_b     bigint      NOT NULL DEFAULT 0,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (counter, window_start, holder),
    FOREIGN KEY (counter, window_start) REFERENCES governance_counters ON DELETE CASCADE
);

CREATE TRIGGER budgets_notify AFTER INSERT OR DELETE ON budgets
    FOR EACH ROW EXECUTE FUNCTION tollgate_notify_change('budget', 'id');
CREATE TRIGGER budgets_notify_update AFTER UPDATE ON budgets
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION tollgate_notify_change('budget', 'id');

CREATE TRIGGER rate_limits_notify AFTER INSERT OR DELETE ON rate_limits
    FOR EACH ROW EXECUTE FUNCTION tollgate_notify_change('rate_limit', 'id');
CREATE TRIGGER rate_limits_notify_update AFTER UPDATE ON rate_limits
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION tollgate_notify_change('rate_limit', 'id');
