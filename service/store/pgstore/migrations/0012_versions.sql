-- 0012: a version per configuration row, for the admin API's etags
-- (optimistic concurrency, AIP-154). Versions come from one sequence
-- shared by every table, so a version is never reused, not even by a row
-- deleted and created again under the same id; a trigger takes a new one
-- whenever an UPDATE changes a row, so writes that do not go through
-- pgstore's statements change it too.

CREATE SEQUENCE tollgate_version;

CREATE FUNCTION tollgate_bump_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.version := nextval('tollgate_version');
    END IF;
    RETURN NEW;
END;
$$;

ALTER TABLE providers ADD COLUMN version bigint NOT NULL DEFAULT nextval('tollgate_version');
ALTER TABLE models ADD COLUMN version bigint NOT NULL DEFAULT nextval('tollgate_version');
ALTER TABLE teams ADD COLUMN version bigint NOT NULL DEFAULT nextval('tollgate_version');
ALTER TABLE virtual_keys ADD COLUMN version bigint NOT NULL DEFAULT nextval('tollgate_version');
ALTER TABLE routes ADD COLUMN version bigint NOT NULL DEFAULT nextval('tollgate_version');
ALTER TABLE budgets ADD COLUMN version bigint NOT NULL DEFAULT nextval('tollgate_version');
ALTER TABLE rate_limits ADD COLUMN version bigint NOT NULL DEFAULT nextval('tollgate_version');
ALTER TABLE guardrail_policies ADD COLUMN version bigint NOT NULL DEFAULT nextval('tollgate_version');
ALTER TABLE alert_webhooks ADD COLUMN version bigint NOT NULL DEFAULT nextval('tollgate_version');

CREATE TRIGGER providers_version BEFORE UPDATE ON providers
    FOR EACH ROW EXECUTE FUNCTION tollgate_bump_version();
CREATE TRIGGER models_version BEFORE UPDATE ON models
    FOR EACH ROW EXECUTE FUNCTION tollgate_bump_version();
CREATE TRIGGER teams_version BEFORE UPDATE ON teams
    FOR EACH ROW EXECUTE FUNCTION tollgate_bump_version();
CREATE TRIGGER virtual_keys_version BEFORE UPDATE ON virtual_keys
    FOR EACH ROW EXECUTE FUNCTION tollgate_bump_version();
CREATE TRIGGER routes_version BEFORE UPDATE ON routes
    FOR EACH ROW EXECUTE FUNCTION tollgate_bump_version();
CREATE TRIGGER budgets_version BEFORE UPDATE ON budgets
    FOR EACH ROW EXECUTE FUNCTION tollgate_bump_version();
CREATE TRIGGER rate_limits_version BEFORE UPDATE ON rate_limits
    FOR EACH ROW EXECUTE FUNCTION tollgate_bump_version();
CREATE TRIGGER guardrail_policies_version BEFORE UPDATE ON guardrail_policies
    FOR EACH ROW EXECUTE FUNCTION tollgate_bump_version();
CREATE TRIGGER alert_webhooks_version BEFORE UPDATE ON alert_webhooks
    FOR EACH ROW EXECUTE FUNCTION tollgate_bump_version();
