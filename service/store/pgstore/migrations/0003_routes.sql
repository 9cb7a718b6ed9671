-- Routes: aliases served by several targets (see package routing). The
-- definition is a JSON spec the store does not interpret.
CREATE TABLE routes (
    name       text        PRIMARY KEY CHECK (name <> ''),
    strategy   text        NOT NULL,
    spec       jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(spec) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER routes_notify AFTER INSERT OR DELETE ON routes
    FOR EACH ROW EXECUTE FUNCTION tollgate_notify_change('route', 'name');
CREATE TRIGGER routes_notify_update AFTER UPDATE ON routes
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION tollgate_notify_change('route', 'name');

-- Streams cut short after part of the answer reached the client.
ALTER TABLE request_records ADD COLUMN partial boolean NOT NULL DEFAULT false;
