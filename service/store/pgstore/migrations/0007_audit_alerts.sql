-- 0007: alert thresholds, alert webhooks, fired-alert dedupe and the
-- admin audit log.

-- Spend percentages at which a budget alert fires; empty = 50, 80, 100.
ALTER TABLE budgets ADD COLUMN alert_thresholds integer[] NOT NULL DEFAULT '{}';

-- Endpoints alerts are posted to. kinds is empty for every kind.
CREATE TABLE alert_webhooks (
    id         text        PRIMARY KEY,
    url        text        NOT NULL,
    kinds      text[]      NOT NULL DEFAULT '{}',
    team_id    text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per alert that was sent (or is being sent): the replica whose
-- INSERT ... ON CONFLICT DO NOTHING inserts the row sends the alert, so
-- replicas and restarts never repeat it. subject is "budget:<id>" or
-- "velocity:<key id>"; threshold is the percentage (budgets) or 0.
CREATE TABLE alert_fired (
    subject      text        NOT NULL,
    period_start timestamptz NOT NULL,
    threshold    integer     NOT NULL,
    fired_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject, period_start, threshold)
);

-- Every admin write, recorded synchronously by the AdminService
-- interceptor. summary never holds credentials or secrets.
CREATE TABLE admin_audit_log (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time          timestamptz NOT NULL DEFAULT now(),
    actor         text        NOT NULL,
    action        text        NOT NULL,
    resource_kind text        NOT NULL DEFAULT '',
    resource_id   text        NOT NULL DEFAULT '',
    request_id    text        NOT NULL DEFAULT '',
    summary       jsonb       NOT NULL DEFAULT '{}',
    outcome       text        NOT NULL DEFAULT ''
);
CREATE INDEX admin_audit_log_time_idx ON admin_audit_log (time DESC, id DESC);
CREATE INDEX admin_audit_log_resource_idx ON admin_audit_log (resource_kind, resource_id, time DESC);

-- Group-by-tag summaries unnest tags; a GIN index serves tag filters.
CREATE INDEX request_records_tags_idx ON request_records USING gin (tags);
