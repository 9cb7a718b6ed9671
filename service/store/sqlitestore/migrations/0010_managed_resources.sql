-- 0010: managed-by marks of configuration as code, as PostgreSQL's 0090.

CREATE TABLE managed_resources (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    manager TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
);
