package pgtest_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/store/pgstore/migrations"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// connect opens a connection that is closed when the test ends.
func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestNewDatabase(t *testing.T) {
	t.Parallel()
	conn := connect(t, pgtest.NewDatabase(t))

	tests := []struct {
		name  string
		query string
		want  float64
	}{
		{
			name:  "vector extension created",
			query: "SELECT count(*)::float8 FROM pg_extension WHERE extname = 'vector'",
			want:  1,
		},
		{
			name:  "cosine distance",
			query: "SELECT '[1,2,3]'::vector <=> '[1,2,4]'::vector",
			want:  1 - 17/math.Sqrt(14*21),
		},
		{
			name:  "L2 distance",
			query: "SELECT '[1,2,3]'::vector <-> '[1,2,4]'::vector",
			want:  1,
		},
		{
			name:  "database is empty",
			query: "SELECT count(*)::float8 FROM pg_tables WHERE schemaname = 'public'",
			want:  0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got float64
			if err := conn.QueryRow(t.Context(), tt.query).Scan(&got); err != nil {
				t.Fatalf("%s: %v", tt.query, err)
			}
			if math.Abs(got-tt.want) > 1e-6 {
				t.Errorf("%s = %v, want %v", tt.query, got, tt.want)
			}
		})
	}
}

func TestNewMigratedDatabase(t *testing.T) {
	t.Parallel()
	ms, err := migrations.All()
	if err != nil {
		t.Fatal(err)
	}
	latest := ms[len(ms)-1].Version
	for i := range 3 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			conn := connect(t, pgtest.NewMigratedDatabase(t))
			var version, applied int
			if err := conn.QueryRow(t.Context(), "SELECT max(version), count(*) FROM schema_migrations").Scan(&version, &applied); err != nil {
				t.Fatalf("read schema_migrations: %v", err)
			}
			if version != latest || applied != len(ms) {
				t.Errorf("schema_migrations: version %d of %d applied, want %d of %d", version, applied, latest, len(ms))
			}
			// Migrating again (what pgstore.Open does) finds nothing to do.
			cfg := conn.Config()
			if got, err := migrations.Apply(t.Context(), cfg); err != nil || got != latest {
				t.Errorf("Apply on a migrated database = %d, %v; want %d, nil", got, err, latest)
			}
			// A copy is private: writing to it changes no other copy.
			if _, err := conn.Exec(t.Context(), "INSERT INTO teams (id, display_name) VALUES ($1, 'x')", "team-"+strconv.Itoa(i)); err != nil {
				t.Fatalf("insert: %v", err)
			}
			var teams int
			if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM teams").Scan(&teams); err != nil || teams != 1 {
				t.Errorf("teams = %d, %v; want 1", teams, err)
			}
		})
	}
}

func TestNewDatabaseIsolation(t *testing.T) {
	t.Parallel()
	for i := range 8 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			conn := connect(t, pgtest.NewDatabase(t))
			ctx := t.Context()
			// The same table in every database: shared databases would
			// collide on CREATE TABLE or see each other's rows.
			if _, err := conn.Exec(ctx, "CREATE TABLE items (owner int NOT NULL)"); err != nil {
				t.Fatalf("create table: %v", err)
			}
			if _, err := conn.Exec(ctx, "INSERT INTO items VALUES ($1)", i); err != nil {
				t.Fatalf("insert: %v", err)
			}
			rows, err := conn.Query(ctx, "SELECT owner FROM items")
			if err != nil {
				t.Fatalf("select: %v", err)
			}
			owners, err := pgx.CollectRows(rows, pgx.RowTo[int])
			if err != nil {
				t.Fatalf("select: %v", err)
			}
			if len(owners) != 1 || owners[0] != i {
				t.Errorf("items owners = %v, want [%d]", owners, i)
			}
		})
	}
}

// TestStopStart takes its private cluster down while the other tests go on.
func TestStopStart(t *testing.T) {
	t.Parallel()
	srv := pgtest.PrivateCluster(t)
	// The cluster's databases are its own, from its own templates.
	for name, dsn := range map[string]string{"empty": srv.NewDatabase(t), "migrated": srv.NewMigratedDatabase(t)} {
		conn := connect(t, dsn)
		if got := conn.Config().Port; int(got) != srv.Port() {
			t.Errorf("%s database on port %d, want the private cluster's %d", name, got, srv.Port())
		}
		var tables int
		if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_tables WHERE tablename = 'schema_migrations'").Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{"empty": 0, "migrated": 1}[name]; tables != want {
			t.Errorf("%s database has %d schema_migrations tables, want %d", name, tables, want)
		}
		conn.Close(t.Context())
	}
	dsn := srv.NewDatabase(t)
	ctx := t.Context()
	conn := connect(t, dsn)
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('before stop')"); err != nil {
		t.Fatalf("write: %v", err)
	}
	port := srv.Port()

	if err := srv.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := conn.Ping(ctx); err == nil {
		t.Error("Ping on a connection from before Stop succeeded, want an error")
	}
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if c, err := pgx.Connect(short, dsn); err == nil {
		c.Close(ctx)
		t.Fatal("Connect after Stop succeeded, want an error")
	}

	began := time.Now()
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("restart took %v", time.Since(began).Round(time.Millisecond))
	if got := srv.Port(); got != port {
		t.Errorf("Port after Start = %d, want %d", got, port)
	}
	var v string
	if err := connect(t, dsn).QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil {
		t.Fatalf("read after Start: %v", err)
	}
	if v != "before stop" {
		t.Errorf("kept.v = %q, want %q", v, "before stop")
	}
}

func TestPersistentDir(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts its own cluster")
	}
	// Not t.TempDir: as root, the postgres user must be able to reach it.
	dir, err := os.MkdirTemp("", "pgtest-persistent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx := t.Context()

	began := time.Now()
	c, err := pgtest.StartCluster(ctx, pgtest.Options{Dir: dir, Logf: t.Logf})
	if err != nil {
		t.Fatalf("StartCluster: %v", err)
	}
	t.Logf("StartCluster (with initdb) took %v", time.Since(began).Round(time.Millisecond))
	port := c.Port()
	if got, want := c.DSN("tollgate"), fmt.Sprintf("postgres://postgres@127.0.0.1:%d/tollgate?sslmode=disable", port); got != want {
		t.Errorf("DSN = %q, want %q", got, want)
	}
	conn := connect(t, c.DSN("postgres"))
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatalf("write: %v", err)
	}
	conn.Close(ctx)
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(dir + "/data/PG_VERSION"); err != nil {
		t.Fatalf("Close removed the persistent cluster: %v", err)
	}

	began = time.Now()
	c, err = pgtest.StartCluster(ctx, pgtest.Options{Dir: dir, Logf: t.Logf})
	if err != nil {
		t.Fatalf("StartCluster again: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	t.Logf("StartCluster (reuse) took %v", time.Since(began).Round(time.Millisecond))
	if got := c.Port(); got != port {
		t.Errorf("Port on reuse = %d, want the previous %d", got, port)
	}
	var v int
	if err := connect(t, c.DSN("postgres")).QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil {
		t.Fatalf("read after reuse: %v", err)
	}
	if v != 42 {
		t.Errorf("kept.v = %d, want 42", v)
	}
}
