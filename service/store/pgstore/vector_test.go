package pgstore_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
)

// TestWithoutPgvector opens stores on a database where pgvector cannot be
// created: with the default (semantic cache on) Open fails and says why;
// WithoutVector leaves the pgvector migration pending and the store works
// and is ready.
func TestWithoutPgvector(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabaseWithoutVector(t)
	_, err := pgstore.Open(t.Context(), dsn)
	if !errors.Is(err, pgstore.ErrNoVector) || !strings.Contains(err.Error(), "not available") {
		t.Fatalf("Open with pgvector migrations = %v, want an error naming pgvector", err)
	}
	s := open(t, dsn, pgstore.WithoutVector())
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	got := query(t, dsn, "SELECT count(*) FROM pg_extension WHERE extname = 'vector'")
	if got[0] != "0" {
		t.Errorf("the vector extension exists")
	}
	pending := query(t, dsn, "SELECT count(*) FROM schema_migrations WHERE version = 80")
	if pending[0] != "0" {
		t.Errorf("migration 0080 is recorded as applied")
	}
	if cols := query(t, dsn, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'semcache_entries' AND column_name = 'embedding'"); cols[0] != "0" {
		t.Errorf("semcache_entries has an embedding column")
	}
}

// TestVectorMigrationLater starts without the semantic cache, then with it
// on the same database: the pgvector migration, left pending, is applied
// then.
func TestVectorMigrationLater(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	open(t, dsn, pgstore.WithoutVector()).Close()
	if got := query(t, dsn, "SELECT count(*) FROM schema_migrations WHERE version = 80"); got[0] != "0" {
		t.Fatal("0080 applied without the semantic cache")
	}
	s := open(t, dsn) // a later start with the semantic cache on
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := query(t, dsn, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'semcache_entries'::regclass AND attname = 'embedding'"); len(got) != 1 || got[0] != "vector" {
		t.Errorf("embedding column = %v, want vector", got)
	}
}
