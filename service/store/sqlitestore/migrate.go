package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// migrationFiles holds the schema migrations, named NNNN_description.sql.
// A migration, once released, is never edited: later changes are new files.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one embedded schema migration.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations returns the embedded migrations in version order.
func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list migrations: %w", err)
	}
	ms := make([]migration, 0, len(names))
	for _, name := range names {
		base := path.Base(name)
		prefix, _, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(prefix)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("sqlitestore: migration %s: name must be NNNN_description.sql", base)
		}
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: read migration %s: %w", base, err)
		}
		ms = append(ms, migration{version: version, name: strings.TrimSuffix(base, ".sql"), sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("sqlitestore: migrations %s and %s share a version", ms[i-1].name, ms[i].name)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("sqlitestore: no migrations embedded")
	}
	return ms, nil
}

// migrate applies the pending migrations, each in its own transaction
// together with its schema_migrations row, and returns the newest
// embedded version. The data directory's lock makes this process the only
// one migrating.
func migrate(ctx context.Context, db *sql.DB, now func() time.Time) (int, error) {
	ms, err := loadMigrations()
	if err != nil {
		return 0, err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return 0, fmt.Errorf("sqlitestore: create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := db.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlitestore: read schema_migrations: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("sqlitestore: read schema_migrations: %w", err)
	}
	newest := ms[len(ms)-1].version
	for v := range applied {
		if v > newest {
			return 0, fmt.Errorf("sqlitestore: the database is at schema version %d, newer than this binary's %d: run a newer tollgate", v, newest)
		}
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return 0, fmt.Errorf("sqlitestore: apply migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			_ = tx.Rollback()
			return 0, fmt.Errorf("sqlitestore: apply migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			m.version, m.name, now().UnixMicro()); err != nil {
			_ = tx.Rollback()
			return 0, fmt.Errorf("sqlitestore: apply migration %s: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return 0, fmt.Errorf("sqlitestore: apply migration %s: %w", m.name, err)
		}
	}
	return newest, nil
}
