-- 0070: admin principals and roles (service accounts, their tokens, role
-- bindings), who created each key, actors in the audit log, provider
-- credentials by reference and the master keyring's sealing key.

-- Named, owned non-human admin principals. roles holds role names such as
-- "admin" or "team-admin:search".
CREATE TABLE service_accounts (
    id          text        PRIMARY KEY,
    description text        NOT NULL DEFAULT '',
    owner       text        NOT NULL DEFAULT '',
    roles       text[]      NOT NULL DEFAULT '{}',
    disabled    boolean     NOT NULL DEFAULT false,
    created_by  text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     bigint      NOT NULL DEFAULT nextval('tollgate_version')
);
CREATE TRIGGER service_accounts_version BEFORE UPDATE ON service_accounts
    FOR EACH ROW EXECUTE FUNCTION tollgate_bump_version();

-- Service-account tokens: only the SHA-256 of the secret is stored.
-- last_used_at is written in the background in batches and is not part of
-- the change notifications.
CREATE TABLE service_account_tokens (
    id                 text        PRIMARY KEY,
    service_account_id text        NOT NULL REFERENCES service_accounts (id) ON DELETE CASCADE,
    name               text        NOT NULL DEFAULT '',
    secret_hash        bytea       NOT NULL UNIQUE,
    secret_prefix      text        NOT NULL DEFAULT '',
    expires_at         timestamptz NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    revoked_at         timestamptz,
    last_used_at       timestamptz,
    rotated_from       text        NOT NULL DEFAULT '',
    created_by         text        NOT NULL DEFAULT ''
);
CREATE INDEX service_account_tokens_account_idx ON service_account_tokens (service_account_id, created_at DESC);

-- Role bindings give people (by "sub" or e-mail) and identity-provider
-- groups a role.
CREATE TABLE role_bindings (
    id           text        PRIMARY KEY,
    subject_kind text        NOT NULL CHECK (subject_kind IN ('user', 'email', 'group')),
    subject      text        NOT NULL,
    role         text        NOT NULL,
    created_by   text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (subject_kind, subject, role)
);

CREATE TRIGGER service_accounts_notify AFTER INSERT OR DELETE ON service_accounts
    FOR EACH ROW EXECUTE FUNCTION tollgate_notify_change('service_account', 'id');
CREATE TRIGGER service_accounts_notify_update AFTER UPDATE ON service_accounts
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION tollgate_notify_change('service_account', 'id');
CREATE TRIGGER service_account_tokens_notify AFTER INSERT OR DELETE ON service_account_tokens
    FOR EACH ROW EXECUTE FUNCTION tollgate_notify_change('sa_token', 'id');
CREATE TRIGGER service_account_tokens_notify_update AFTER UPDATE OF revoked_at, expires_at, secret_hash
    ON service_account_tokens
    FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
        OR OLD.expires_at IS DISTINCT FROM NEW.expires_at OR OLD.secret_hash IS DISTINCT FROM NEW.secret_hash)
    EXECUTE FUNCTION tollgate_notify_change('sa_token', 'id');
CREATE TRIGGER role_bindings_notify AFTER INSERT OR DELETE OR UPDATE ON role_bindings
    FOR EACH ROW EXECUTE FUNCTION tollgate_notify_change('role_binding', 'id');

-- The admin principal that created a key ("user:<sub>",
-- "service-account:<id>", "admin-token"); '' for keys made before 0070.
ALTER TABLE virtual_keys ADD COLUMN created_by text NOT NULL DEFAULT '';
CREATE INDEX virtual_keys_created_by_idx ON virtual_keys (created_by) WHERE created_by <> '';

-- Who made each admin call, from where, and with which role.
ALTER TABLE admin_audit_log
    ADD COLUMN actor_type     text NOT NULL DEFAULT '',
    ADD COLUMN actor_subject  text NOT NULL DEFAULT '',
    ADD COLUMN actor_name     text NOT NULL DEFAULT '',
    ADD COLUMN actor_issuer   text NOT NULL DEFAULT '',
    ADD COLUMN actor_token_id text NOT NULL DEFAULT '',
    ADD COLUMN actor_role     text NOT NULL DEFAULT '',
    ADD COLUMN source_ip      text NOT NULL DEFAULT '',
    ADD COLUMN user_agent     text NOT NULL DEFAULT '';
CREATE INDEX admin_audit_log_actor_idx ON admin_audit_log (actor_subject, time DESC);

-- A provider's credential by reference (env:, file:, vault:, aws-sm:,
-- gcp-sm:); the value itself is never stored.
ALTER TABLE providers ADD COLUMN credential_ref text NOT NULL DEFAULT '';

-- The id of the master key that seals new secrets, chosen by the last
-- RotateMasterKey; one row.
CREATE TABLE master_key_state (
    singleton      boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    primary_key_id text        NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER master_key_state_notify AFTER INSERT OR UPDATE ON master_key_state
    FOR EACH ROW EXECUTE FUNCTION tollgate_notify_change('master_key', 'primary_key_id');
