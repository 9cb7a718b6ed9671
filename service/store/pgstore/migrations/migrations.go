// Package migrations holds Tollgate's PostgreSQL schema migrations, named
// NNNN_description.sql and embedded in the binary, and applies them.
//
// It depends on nothing but pgx, so that the store (pgstore.Open applies
// them on start) and test infrastructure (internal/pgtest builds a
// pre-migrated template database from them) can both use it.
//
// A migration, once released, is never edited: later changes are new files.
package migrations

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// files holds the schema migrations.
//
//go:embed *.sql
var files embed.FS

// lockKey is the pg_advisory_lock key that serializes migrations across
// replicas ("tgmigrat" in ASCII).
const lockKey int64 = 0x74676d6967726174

// Migration is one embedded schema migration.
type Migration struct {
	// Version is the NNNN prefix of the file name.
	Version int
	// Name is the file name without ".sql".
	Name string
	// SQL is the file's content.
	SQL string
}

// All returns the embedded migrations in version order.
func All() ([]Migration, error) {
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("pgstore: list migrations: %w", err)
	}
	ms := make([]Migration, 0, len(names))
	for _, name := range names {
		prefix, _, ok := strings.Cut(name, "_")
		version, err := strconv.Atoi(prefix)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("pgstore: migration %s: name must be NNNN_description.sql", name)
		}
		b, err := files.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("pgstore: read migration %s: %w", name, err)
		}
		ms = append(ms, Migration{Version: version, Name: strings.TrimSuffix(name, ".sql"), SQL: string(b)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("pgstore: migrations %s and %s share a version", ms[i-1].Name, ms[i].Name)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("pgstore: no migrations embedded")
	}
	return ms, nil
}

// Fingerprint returns a short hash of every embedded migration's name and
// content: two binaries with the same fingerprint build the same schema.
func Fingerprint() (string, error) {
	ms, err := All()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, m := range ms {
		fmt.Fprintf(h, "%s\x00%d\x00%s\x00", m.Name, len(m.SQL), m.SQL)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Apply applies the pending migrations to the database that cfg names, on a
// dedicated connection holding the migration advisory lock (safe when
// several replicas start at once), each in its own transaction together
// with its schema_migrations row. It returns the newest embedded version.
func Apply(ctx context.Context, cfg *pgx.ConnConfig) (int, error) {
	ms, err := All()
	if err != nil {
		return 0, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return 0, fmt.Errorf("pgstore: connect: %w", err)
	}
	// Closing the connection also releases the advisory lock.
	defer conn.Close(context.WithoutCancel(ctx))

	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return 0, fmt.Errorf("pgstore: take migration lock: %w", err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return 0, fmt.Errorf("pgstore: create schema_migrations: %w", err)
	}
	rows, err := conn.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return 0, fmt.Errorf("pgstore: read schema_migrations: %w", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return 0, fmt.Errorf("pgstore: read schema_migrations: %w", err)
	}
	for _, m := range ms {
		if slices.Contains(applied, m.Version) {
			continue
		}
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
			return err
		}); err != nil {
			return 0, fmt.Errorf("pgstore: apply migration %s: %w", m.Name, err)
		}
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", lockKey); err != nil {
		return 0, fmt.Errorf("pgstore: release migration lock: %w", err)
	}
	return ms[len(ms)-1].Version, nil
}
