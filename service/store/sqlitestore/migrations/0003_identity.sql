-- 0003: admin principals (service accounts, their tokens, role bindings),
-- key creators, audit actors, credential references and the master-key
-- state, as PostgreSQL's 0070 does. Change notifications are sent by the
-- store's write transactions (see tx.changed), not by triggers.

CREATE TABLE service_accounts (
    id          TEXT    PRIMARY KEY,
    description TEXT    NOT NULL DEFAULT '',
    owner       TEXT    NOT NULL DEFAULT '',
    roles       TEXT    NOT NULL DEFAULT '[]',
    disabled    INTEGER NOT NULL DEFAULT 0,
    created_by  TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL
);

CREATE TABLE service_account_tokens (
    id                 TEXT    PRIMARY KEY,
    service_account_id TEXT    NOT NULL REFERENCES service_accounts (id) ON DELETE CASCADE,
    name               TEXT    NOT NULL DEFAULT '',
    secret_hash        BLOB    NOT NULL UNIQUE,
    secret_prefix      TEXT    NOT NULL DEFAULT '',
    expires_at         INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    revoked_at         INTEGER,
    last_used_at       INTEGER,
    rotated_from       TEXT    NOT NULL DEFAULT '',
    created_by         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX service_account_tokens_account_idx ON service_account_tokens (service_account_id, created_at DESC);

CREATE TABLE role_bindings (
    id           TEXT    PRIMARY KEY,
    subject_kind TEXT    NOT NULL CHECK (subject_kind IN ('user', 'email', 'group')),
    subject      TEXT    NOT NULL,
    role         TEXT    NOT NULL,
    created_by   TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    UNIQUE (subject_kind, subject, role)
);

ALTER TABLE virtual_keys ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
CREATE INDEX virtual_keys_created_by_idx ON virtual_keys (created_by) WHERE created_by <> '';

ALTER TABLE admin_audit_log ADD COLUMN actor_type     TEXT NOT NULL DEFAULT '';
ALTER TABLE admin_audit_log ADD COLUMN actor_subject  TEXT NOT NULL DEFAULT '';
ALTER TABLE admin_audit_log ADD COLUMN actor_name     TEXT NOT NULL DEFAULT '';
ALTER TABLE admin_audit_log ADD COLUMN actor_issuer   TEXT NOT NULL DEFAULT '';
ALTER TABLE admin_audit_log ADD COLUMN actor_token_id TEXT NOT NULL DEFAULT '';
ALTER TABLE admin_audit_log ADD COLUMN actor_role     TEXT NOT NULL DEFAULT '';
ALTER TABLE admin_audit_log ADD COLUMN source_ip      TEXT NOT NULL DEFAULT '';
ALTER TABLE admin_audit_log ADD COLUMN user_agent     TEXT NOT NULL DEFAULT '';
CREATE INDEX admin_audit_log_actor_idx ON admin_audit_log (actor_subject, time DESC);

ALTER TABLE providers ADD COLUMN credential_ref TEXT NOT NULL DEFAULT '';

CREATE TABLE master_key_state (
    singleton      INTEGER PRIMARY KEY DEFAULT 1 CHECK (singleton = 1),
    primary_key_id TEXT    NOT NULL,
    updated_at     INTEGER NOT NULL
);
