-- 0090: managed-by marks of configuration as code.
--
-- A row marks a resource as managed by a declarative configuration
-- (`tollgate config apply`, `tollgate serve --config`): --prune deletes
-- only marked resources, and the admin API refuses or warns about
-- out-of-band changes to them (-managed-changes).

CREATE TABLE managed_resources (
    kind text NOT NULL,
    name text NOT NULL,
    manager text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, name)
);
COMMENT ON TABLE managed_resources IS 'resources managed by configuration as code (kind, id or name)';
