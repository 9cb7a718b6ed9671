-- 0001: the catalog (providers, models, teams, virtual keys) and its change
-- notifications. Applied once, inside a transaction, by pgstore's migrator.
--
-- Until 0080 this migration also ran CREATE EXTENSION vector; the
-- extension is now created by 0080, which runs only when the semantic
-- cache needs it (databases that applied the old text already have it).

CREATE TABLE providers (
    id                text        PRIMARY KEY,
    type              text        NOT NULL,
    base_url          text        NOT NULL DEFAULT '',
    settings          jsonb       NOT NULL DEFAULT '{}',
    sealed_credential bytea,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN providers.sealed_credential IS 'encrypted credential; never plain text';

CREATE TABLE models (
    name                           text        PRIMARY KEY,
    provider_id                    text        NOT NULL REFERENCES providers (id) ON DELETE RESTRICT,
    upstream_model                 text        NOT NULL DEFAULT '',
    context_window                 integer     NOT NULL DEFAULT 0,
    max_output_tokens              integer     NOT NULL DEFAULT 0,
    embedding                      boolean     NOT NULL DEFAULT false,
    price_input_per_mtok_nanos     bigint      NOT NULL DEFAULT 0,
    price_output_per_mtok_nanos    bigint      NOT NULL DEFAULT 0,
    price_cached_input_per_mtok_nanos bigint   NOT NULL DEFAULT 0,
    price_per_request_nanos        bigint      NOT NULL DEFAULT 0,
    created_at                     timestamptz NOT NULL DEFAULT now(),
    updated_at                     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN models.price_input_per_mtok_nanos IS 'nano-USD per million input tokens';
COMMENT ON COLUMN models.price_output_per_mtok_nanos IS 'nano-USD per million output tokens';
COMMENT ON COLUMN models.price_cached_input_per_mtok_nanos IS 'nano-USD per million cached input tokens';
COMMENT ON COLUMN models.price_per_request_nanos IS 'nano-USD per request';
-- Serves the foreign-key check of DELETE FROM providers.
CREATE INDEX models_provider_id_idx ON models (provider_id);

CREATE TABLE teams (
    id           text        PRIMARY KEY,
    display_name text        NOT NULL DEFAULT '',
    labels       jsonb       NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- A team's revoked keys go with it; DeleteTeam refuses while it has
-- unrevoked ones. Request records keep key and team ids as plain text, so
-- the audit trail survives.
CREATE TABLE virtual_keys (
    id                     text        PRIMARY KEY,
    name                   text        NOT NULL DEFAULT '',
    team_id                text        NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    service_id             text        NOT NULL DEFAULT '',
    allowed_models         text[]      NOT NULL DEFAULT '{}',
    tags                   jsonb       NOT NULL DEFAULT '{}',
    expires_at             timestamptz,
    secret_hash            bytea       NOT NULL,
    secret_prefix          text        NOT NULL DEFAULT '',
    prev_secret_hash       bytea,
    prev_secret_expires_at timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    revoked_at             timestamptz,
    rotated_at             timestamptz,
    CONSTRAINT virtual_keys_secret_hash_key UNIQUE (secret_hash),
    CONSTRAINT virtual_keys_prev_secret_check
        CHECK ((prev_secret_hash IS NULL) = (prev_secret_expires_at IS NULL))
);
COMMENT ON COLUMN virtual_keys.secret_hash IS 'SHA-256 of the secret';
CREATE UNIQUE INDEX virtual_keys_prev_secret_hash_key
    ON virtual_keys (prev_secret_hash) WHERE prev_secret_hash IS NOT NULL;
-- Key listing pages by (created_at desc, id desc), optionally per team.
CREATE INDEX virtual_keys_created_at_id_idx ON virtual_keys (created_at DESC, id DESC);
CREATE INDEX virtual_keys_team_id_created_at_id_idx ON virtual_keys (team_id, created_at DESC, id DESC);

-- tollgate_notify_change sends '<kind>:<id>' on channel tollgate_changes,
-- where kind is TG_ARGV[0] and id the row's TG_ARGV[1] column. NOTIFY is
-- delivered at commit, and duplicates within a transaction are folded.
CREATE FUNCTION tollgate_notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_id text;
    new_id text;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        old_id := to_jsonb(OLD) ->> TG_ARGV[1];
        PERFORM pg_notify('tollgate_changes', TG_ARGV[0] || ':' || old_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        new_id := to_jsonb(NEW) ->> TG_ARGV[1];
        IF old_id IS DISTINCT FROM new_id THEN
            PERFORM pg_notify('tollgate_changes', TG_ARGV[0] || ':' || new_id);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER providers_notify AFTER INSERT OR DELETE ON providers
    FOR EACH ROW EXECUTE FUNCTION tollgate_notify_change('provider', 'id');
CREATE TRIGGER providers_notify_update AFTER UPDATE ON providers
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION tollgate_notify_change('provider', 'id');

CREATE TRIGGER models_notify AFTER INSERT OR DELETE ON models
    FOR EACH ROW EXECUTE FUNCTION tollgate_notify_change('model', 'name');
CREATE TRIGGER models_notify_update AFTER UPDATE ON models
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION tollgate_notify_change('model', 'name');

CREATE TRIGGER teams_notify AFTER INSERT OR DELETE ON teams
    FOR EACH ROW EXECUTE FUNCTION tollgate_notify_change('team', 'id');
CREATE TRIGGER teams_notify_update AFTER UPDATE ON teams
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION tollgate_notify_change('team', 'id');

CREATE TRIGGER virtual_keys_notify AFTER INSERT OR DELETE ON virtual_keys
    FOR EACH ROW EXECUTE FUNCTION tollgate_notify_change('key', 'id');
CREATE TRIGGER virtual_keys_notify_update AFTER UPDATE ON virtual_keys
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION tollgate_notify_change('key', 'id');
