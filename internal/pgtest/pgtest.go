package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tollgate-dev/tollgate/service/store/pgstore/migrations"
)

// EnvURL names the environment variable through which one PostgreSQL
// server is shared by every test binary of a run: `make test` starts
// pgtestd, which sets it to the server's admin DSN for `go test ./...`.
// [Run] uses it before DATABASE_URL and before starting a cluster itself.
const EnvURL = "TOLLGATE_PGTEST_URL"

// server is the process-wide PostgreSQL server that Run provides for a test
// binary, and the only package-level mutable state. Run sets it before
// m.Run and clears it after, so tests only ever read the pointer.
var server struct {
	dbs     *databases
	cluster *lazyCluster // nil when the server is shared (EnvURL, DATABASE_URL)
}

// Timeouts for the work of Run and NewDatabase.
const (
	startTimeout = 2 * time.Minute
	adminTimeout = time.Minute
)

// Run is for TestMain: it provides a server for the package's tests and
// returns the exit code:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
//
// The server is the one named by [EnvURL] (set by `make test`), else by
// DATABASE_URL, else a [Cluster] that Run starts on first use (so a test
// binary whose selected tests need no database starts none) and closes
// after m.Run(). Starting one needs pgvector installed; if it is not, the
// first test asking for a database fails and says how to install it.
func Run(m *testing.M) int {
	shared := os.Getenv(EnvURL)
	if shared == "" {
		shared = os.Getenv("DATABASE_URL")
	}
	if shared != "" {
		server.dbs = newDatabases(func(context.Context) (string, error) { return shared, nil })
		defer func() { server.dbs = nil }()
		return m.Run()
	}

	lc := &lazyCluster{}
	server.cluster = lc
	server.dbs = newDatabases(func(ctx context.Context) (string, error) {
		c, err := lc.get(ctx)
		if err != nil {
			return "", err
		}
		return c.DSN("postgres"), nil
	})
	defer func() {
		server.dbs, server.cluster = nil, nil
		if err := lc.close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	return m.Run()
}

// Server returns the cluster started by [Run], or nil when the server is
// shared ([EnvURL] or DATABASE_URL).
//
// Deprecated: a test that stops the server would take it away from every
// other test of the run; use [PrivateCluster], which works everywhere.
func Server() *Cluster {
	if server.cluster == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c, err := server.cluster.get(ctx)
	if err != nil {
		return nil
	}
	return c
}

// NewDatabase creates a fresh, empty database on the server from [Run], with
// the vector extension created, and returns its DSN. The database is
// dropped (WITH (FORCE)) in t.Cleanup. It is a copy of a template database,
// so it costs one CREATE DATABASE. NewDatabase is safe to call from
// parallel tests; it fails the test if TestMain does not use Run.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return sharedDatabases(t).create(t, emptyTemplate)
}

// NewMigratedDatabase is [NewDatabase] with every migration of
// service/store/pgstore/migrations already applied, as pgstore.Open would
// apply them. The schema is migrated once per server (a template database
// named after the migrations' fingerprint) and each test gets a copy, so
// tests that open a store or run a gateway start in milliseconds.
func NewMigratedDatabase(t testing.TB) string {
	t.Helper()
	return sharedDatabases(t).create(t, migratedTemplate)
}

// PrivateCluster starts a cluster of the test's own (initdb and start: a
// few seconds) and closes it when the test ends. Tests that stop and start
// the server to exercise outages use it, so that they never disturb the
// server the other tests share; such tests may run in parallel. Its
// databases come from [Cluster.NewDatabase] and [Cluster.NewMigratedDatabase].
func PrivateCluster(t testing.TB) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := CheckVector(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := StartCluster(ctx, Options{Logf: t.Logf})
	if err != nil {
		t.Fatalf("pgtest: private cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("pgtest: close private cluster: %v", err)
		}
	})
	return c
}

// PrepareTemplates builds the template databases that [NewDatabase] and
// [NewMigratedDatabase] copy, on the server whose admin database adminDSN
// names, unless they exist already. pgtestd calls it once before the tests
// start; otherwise the first test that needs a template builds it.
//
// afterMigrate, if not nil, runs on the migrated template once the
// migrations are applied and must leave no connection open: pgtestd opens
// a pgstore.Store there, which also creates the request-record partitions
// of the coming week, so that each test's pgstore.Open finds nothing to do.
// (pgtest itself cannot import pgstore, whose tests import pgtest.)
func PrepareTemplates(ctx context.Context, adminDSN string, afterMigrate func(ctx context.Context, dsn string) error) error {
	for _, kind := range []templateKind{emptyTemplate, migratedTemplate} {
		if _, err := ensureTemplate(ctx, adminDSN, kind, afterMigrate); err != nil {
			return err
		}
	}
	return nil
}

// sharedDatabases returns the databases of the server from Run.
func sharedDatabases(t testing.TB) *databases {
	t.Helper()
	if server.dbs == nil {
		t.Fatal("pgtest: NewDatabase needs the server that pgtest.Run provides; " +
			"add `func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }` to the package's tests")
	}
	return server.dbs
}

// lazyCluster is the cluster Run starts on first use.
type lazyCluster struct {
	mu  sync.Mutex
	c   *Cluster
	err error
}

func (l *lazyCluster) get(ctx context.Context) (*Cluster, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.c != nil || l.err != nil {
		return l.c, l.err
	}
	if err := CheckVector(ctx); err != nil {
		l.err = err
		return nil, err
	}
	l.c, l.err = StartCluster(ctx, Options{})
	return l.c, l.err
}

func (l *lazyCluster) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.c == nil {
		return nil
	}
	return l.c.Close()
}

// templateKind selects what a template database holds.
type templateKind int

const (
	emptyTemplate    templateKind = iota // the vector extension only
	migratedTemplate                     // and every migration applied
)

// databases creates test databases on one server, from templates it
// builds once.
type databases struct {
	admin func(context.Context) (string, error) // the admin DSN, once

	mu        sync.Mutex
	adminDSN  string
	templates map[templateKind]string // names of the templates built or found
}

func newDatabases(admin func(context.Context) (string, error)) *databases {
	return &databases{admin: admin, templates: make(map[templateKind]string)}
}

// template returns the admin DSN and the name of the template of kind,
// building it when needed.
func (d *databases) template(ctx context.Context, kind templateKind) (string, string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.adminDSN == "" {
		admin, err := d.admin(ctx)
		if err != nil {
			return "", "", err
		}
		d.adminDSN = admin
	}
	if name, ok := d.templates[kind]; ok {
		return d.adminDSN, name, nil
	}
	name, err := ensureTemplate(ctx, d.adminDSN, kind, nil)
	if err != nil {
		return "", "", err
	}
	d.templates[kind] = name
	return d.adminDSN, name, nil
}

// create makes a copy of the template of kind for t and returns its DSN.
func (d *databases) create(t testing.TB, kind templateKind) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	admin, tmpl, err := d.template(ctx, kind)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	name, err := randomName("tg_test_")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := execSQL(ctx, admin, "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(tmpl)); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		if err := execSQL(ctx, admin, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	dsn, err := withDatabase(admin, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// templateLockKey is the pg_advisory_lock key that serializes the building
// of templates across test binaries ("tgtmplat" in ASCII).
const templateLockKey int64 = 0x7467746d706c6174

// ensureTemplate returns the name of the template database of kind on the
// server, building it first if no test binary has yet. A template is built
// under another name and renamed when complete, so a crash never leaves a
// half-built one; it accepts no connections, so copying it never fails
// because someone is connected.
func ensureTemplate(ctx context.Context, admin string, kind templateKind, afterMigrate func(context.Context, string) error) (string, error) {
	name := "tg_template_vector"
	if kind == migratedTemplate {
		fp, err := migrations.Fingerprint()
		if err != nil {
			return "", err
		}
		name = "tg_template_" + fp
	}

	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx)) // also releases the lock
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLockKey); err != nil {
		return "", fmt.Errorf("take the template lock: %w", err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", fmt.Errorf("look up template %s: %w", name, err)
	}
	if exists {
		return name, nil
	}

	build, err := randomName("tg_template_build_")
	if err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident(build)); err != nil {
		return "", fmt.Errorf("create template %s: %w", name, err)
	}
	if err := fillTemplate(ctx, admin, build, kind, afterMigrate); err != nil {
		_, dropErr := conn.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+ident(build)+" WITH (FORCE)")
		return "", errors.Join(fmt.Errorf("build template %s: %w", name, err), dropErr)
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(build)+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"); err != nil {
		return "", fmt.Errorf("seal template %s: %w", name, err)
	}
	// The backends of the connections that filled it may still be exiting;
	// end them, then rename (which needs the database unused).
	if _, err := conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", build); err != nil {
		return "", fmt.Errorf("seal template %s: %w", name, err)
	}
	for attempt := 1; ; attempt++ {
		_, err := conn.Exec(ctx, "ALTER DATABASE "+ident(build)+" RENAME TO "+ident(name))
		var pgErr *pgconn.PgError
		if err == nil {
			return name, nil
		} else if !errors.As(err, &pgErr) || pgErr.Code != "55006" || attempt == 100 { // object_in_use
			return "", fmt.Errorf("seal template %s: %w", name, err)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("seal template %s: %w", name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// fillTemplate creates the vector extension in database db and, for a
// migrated template, applies every migration and runs afterMigrate.
func fillTemplate(ctx context.Context, admin, db string, kind templateKind, afterMigrate func(context.Context, string) error) error {
	dsn, err := withDatabase(admin, db)
	if err != nil {
		return err
	}
	if err := execSQL(ctx, dsn, "CREATE EXTENSION IF NOT EXISTS vector"); err != nil {
		return fmt.Errorf("create extension vector: %w", err)
	}
	if kind != migratedTemplate {
		return nil
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("parse dsn: %w", err)
	}
	if _, err := migrations.Apply(ctx, cfg); err != nil {
		return err
	}
	if afterMigrate != nil {
		return afterMigrate(ctx, dsn)
	}
	return nil
}

// randomName returns prefix followed by 16 random hex digits.
func randomName(prefix string) (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("database name: %w", err)
	}
	return prefix + hex.EncodeToString(b), nil
}

// ident quotes a database name.
func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// withDatabase returns dsn, a URL or keyword/value connection string, with
// its database replaced by name.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse DATABASE_URL: %w", err)
		}
		u.Path, u.RawPath = "/"+name, ""
		return u.String(), nil
	}
	return dsn + " dbname=" + name, nil // a later keyword wins
}

// execSQL runs one statement on a new connection to dsn.
func execSQL(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	return nil
}
