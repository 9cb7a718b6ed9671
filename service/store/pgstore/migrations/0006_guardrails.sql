-- Guardrail policies (see package guardrails). The guardrails are a JSON
-- spec the store does not interpret; a policy is attached to a team, a
-- service, a key or a route.
CREATE TABLE guardrail_policies (
    id          text        PRIMARY KEY CHECK (id <> ''),
    description text        NOT NULL DEFAULT '',
    attach_kind text        NOT NULL CHECK (attach_kind IN ('team', 'service', 'key', 'route')),
    attach_to   text        NOT NULL CHECK (attach_to <> ''),
    spec        jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(spec) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX guardrail_policies_attachment ON guardrail_policies (attach_kind, attach_to);

CREATE TRIGGER guardrail_policies_notify AFTER INSERT OR DELETE ON guardrail_policies
    FOR EACH ROW EXECUTE FUNCTION tollgate_notify_change('guardrail_policy', 'id');
CREATE TRIGGER guardrail_policies_notify_update AFTER UPDATE ON guardrail_policies
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION tollgate_notify_change('guardrail_policy', 'id');
