package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// server is the process-wide PostgreSQL server that Run provides for a test
// binary, and the only package-level mutable state. Run sets it before
// m.Run and clears it after, so tests only ever read it.
var server struct {
	adminDSN string   // database through which test databases are created and dropped
	cluster  *Cluster // the cluster Run started; nil under DATABASE_URL
}

// Timeouts for the work of Run and NewDatabase.
const (
	startTimeout = 2 * time.Minute
	adminTimeout = time.Minute
)

// Run is for TestMain: it provides a server for the package's tests
// (DATABASE_URL if set, else a [StartCluster] it closes after m.Run()) and
// returns the exit code:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
//
// Without DATABASE_URL, Run needs pgvector installed; if it is not, Run
// prints how to install it and returns 1.
func Run(m *testing.M) int {
	if dsn := os.Getenv("DATABASE_URL"); dsn != "" {
		server.adminDSN = dsn
		defer func() { server.adminDSN = "" }()
		return m.Run()
	}

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := CheckVector(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c, err := StartCluster(ctx, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	server.adminDSN, server.cluster = c.DSN("postgres"), c
	defer func() {
		server.adminDSN, server.cluster = "", nil
		if err := c.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	return m.Run()
}

// Server returns the cluster started by [Run], so that outage tests can
// [Cluster.Stop] and [Cluster.Start] it. It is nil when DATABASE_URL names
// the server; such tests skip then. Tests that stop the server must not call
// t.Parallel, so that no other test sees the outage.
func Server() *Cluster { return server.cluster }

// NewDatabase creates a fresh, empty database on the server from [Run], with
// CREATE EXTENSION IF NOT EXISTS vector done, and returns its DSN. The
// database is dropped (WITH (FORCE)) in t.Cleanup. NewDatabase is safe to
// call from parallel tests; it fails the test if TestMain does not use Run.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := server.adminDSN
	if admin == "" {
		t.Fatal("pgtest: NewDatabase needs the server that pgtest.Run provides; " +
			"add `func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }` to the package's tests")
	}
	name, err := databaseName()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()

	if err := execSQL(ctx, admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		if err := execSQL(ctx, admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})

	dsn, err := withDatabase(admin, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := execSQL(ctx, dsn, "CREATE EXTENSION IF NOT EXISTS vector"); err != nil {
		t.Fatalf("pgtest: create extension vector in %s: %v", name, err)
	}
	return dsn
}

// databaseName returns a fresh name for a test database.
func databaseName() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("database name: %w", err)
	}
	return "tg_test_" + hex.EncodeToString(b), nil
}

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
