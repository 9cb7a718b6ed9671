package pgstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
	"github.com/tollgate-dev/tollgate/service/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// open opens a store on dsn, closed when tb ends.
func open(tb testing.TB, dsn string, opts ...pgstore.Option) *pgstore.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := pgstore.Open(ctx, dsn, append([]pgstore.Option{pgstore.WithMaxConns(4)}, opts...)...)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// batchOf returns rs as the first lines of a new segment.
func batchOf(rs []store.Record) store.RecordBatch {
	var seg store.SegmentID
	_, _ = rand.Read(seg[:])
	return store.RecordBatch{Segment: seg, Records: rs}
}

// query runs sql on a connection of its own and returns the first column of
// each row as text.
func query(t *testing.T, dsn, sql string, args ...any) []string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	rows, _ := conn.Query(t.Context(), sql, args...)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var v any
		if err := r.Scan(&v); err != nil {
			return "", err
		}
		return fmt.Sprint(v), nil
	})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func TestConformance(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		dsns = map[store.Store]string{}
	)
	newStore := func(t *testing.T) store.Store {
		dsn := pgtest.NewMigratedDatabase(t)
		s := open(t, dsn)
		mu.Lock()
		dsns[s] = dsn
		mu.Unlock()
		return s
	}
	replica := func(t *testing.T, s store.Store) store.Store {
		mu.Lock()
		dsn := dsns[s]
		mu.Unlock()
		return open(t, dsn)
	}
	storetest.Run(t, newStore, storetest.WithReplica(replica))
}

func TestOpenConcurrent(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	const replicas = 5
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	stores := make([]*pgstore.Store, replicas)
	for i := range replicas {
		wg.Go(func() {
			stores[i], errs[i] = pgstore.Open(t.Context(), dsn, pgstore.WithMaxConns(2))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open #%d: %v", i, err)
			continue
		}
		t.Cleanup(stores[i].Close)
		if err := stores[i].Ping(t.Context()); err != nil {
			t.Errorf("Ping #%d: %v", i, err)
		}
	}
	got := query(t, dsn, "SELECT version || ':' || count(*) OVER (PARTITION BY version) FROM schema_migrations ORDER BY version")
	want := embeddedVersions(t)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("schema_migrations = %v, want %v", got, want)
	}
	if err := pgstore.Migrate(t.Context(), dsn); err != nil {
		t.Errorf("Migrate on a migrated database: %v", err)
	}
	if n := query(t, dsn, "SELECT count(*) FROM schema_migrations"); n[0] != fmt.Sprint(len(want)) {
		t.Errorf("after Migrate: %s migrations recorded, want %d", n[0], len(want))
	}
}

// embeddedVersions returns "<version>:1" for each migration file, in order.
func embeddedVersions(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("list migrations: %v (%d files)", err, len(files))
	}
	out := make([]string, 0, len(files))
	for _, f := range files { // Glob sorts, and versions are zero-padded.
		v, err := strconv.Atoi(strings.SplitN(filepath.Base(f), "_", 2)[0])
		if err != nil {
			t.Fatalf("migration %s: %v", f, err)
		}
		out = append(out, fmt.Sprintf("%d:1", v))
	}
	return out
}

func TestPingNeedsLatestMigration(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	s := open(t, dsn)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	query(t, dsn, "DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)")
	if err := s.Ping(t.Context()); err == nil {
		t.Error("Ping with a migration missing: nil error")
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		dsn  string
	}{
		{"malformed", "postgres://%zz"},
		{"unreachable", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if s, err := pgstore.Open(t.Context(), tt.dsn); err == nil {
				s.Close()
				t.Fatal("Open: nil error")
			}
		})
	}
}

// terminateWatchers ends the server processes of Watch's connections to
// dsn's database and returns how many there were.
func terminateWatchers(t *testing.T, dsn string) int {
	t.Helper()
	return len(query(t, dsn, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'tollgate-watch'`))
}

// countWatchers returns the number of Watch connections to dsn's database.
func countWatchers(t *testing.T, dsn string) string {
	t.Helper()
	return query(t, dsn, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'tollgate-watch'`)[0]
}

func TestWatchReconnects(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewMigratedDatabase(t)
	s := open(t, dsn)
	other := open(t, dsn)
	if err := s.CreateTeam(t.Context(), &store.Team{ID: "t1"}); err != nil {
		t.Fatal(err)
	}
	w := storetest.StartWatch(t, s)
	w.ExpectResync(t, 10*time.Second)

	for round := range 3 {
		if n := terminateWatchers(t, dsn); n != 1 {
			t.Fatalf("round %d: terminated %d watch connections, want 1", round, n)
		}
		w.ExpectResync(t, 10*time.Second)
		id := fmt.Sprintf("k%d", round)
		k := &store.Key{ID: id, TeamID: "t1", SecretHash: []byte(id)}
		if err := other.CreateKey(t.Context(), k); err != nil {
			t.Fatalf("CreateKey: %v", err)
		}
		w.Expect(t, store.Change{Kind: store.ChangeKey, ID: id}, time.Second)
	}
	w.Stop(t)
	// The server ends the backend shortly after the client hangs up.
	testutil.Eventually(t, func() error {
		if n := countWatchers(t, dsn); n != "0" {
			return fmt.Errorf("%s watch connections still open after Stop", n)
		}
		return nil
	})
}

// TestWatchSurvivesRestart stops and starts the server, a private one.
func TestWatchSurvivesRestart(t *testing.T) {
	t.Parallel()
	srv := pgtest.PrivateCluster(t)
	dsn := srv.NewMigratedDatabase(t)
	var logs testutil.Buffer
	s := open(t, dsn, pgstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err := s.CreateTeam(t.Context(), &store.Team{ID: "t1"}); err != nil {
		t.Fatal(err)
	}
	w := storetest.StartWatch(t, s)
	w.ExpectResync(t, 10*time.Second)

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := srv.Stop(ctx); err != nil {
		t.Fatalf("stop server: %v", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping while the server is down: nil error")
	}
	// Let Watch fail a few reconnects (it logs each before backing off).
	testutil.Eventually(t, func() error {
		if n := logs.Count("reconnecting"); n < 3 {
			return fmt.Errorf("watch tried to reconnect %d times, want 3", n)
		}
		return nil
	})
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("start server: %v", err)
	}
	w.ExpectResync(t, 15*time.Second)
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping after restart: %v", err)
	}
	if err := s.CreateKey(ctx, &store.Key{ID: "k1", TeamID: "t1", SecretHash: []byte("k1")}); err != nil {
		t.Fatalf("CreateKey after restart: %v", err)
	}
	w.Expect(t, store.Change{Kind: store.ChangeKey, ID: "k1"}, time.Second)
}

// partitions returns the names of request_records' partitions.
func partitions(t *testing.T, dsn string) map[string]bool {
	t.Helper()
	names := query(t, dsn, `SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'request_records'::regclass`)
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

func partitionOf(d time.Time) string { return "request_records_p" + d.UTC().Format("20060102") }

func TestPartitions(t *testing.T) {
	t.Parallel()
	// An empty database: the migrated template may hold the partitions of
	// the day it was built.
	dsn := pgtest.NewDatabase(t)
	s := open(t, dsn)
	ctx := t.Context()
	today := time.Now().UTC().Truncate(24 * time.Hour)

	parts := partitions(t, dsn)
	for i := range 8 {
		if d := today.AddDate(0, 0, i); !parts[partitionOf(d)] {
			t.Errorf("after Open: no partition %s", partitionOf(d))
		}
	}
	if !parts["request_records_default"] || len(parts) != 9 {
		t.Errorf("after Open: partitions %v, want the default and 8 days", parts)
	}

	// Rows of days 10 and 11 days ago that reach the default partition
	// (written by a replica that did not create their partitions) are
	// moved when their partition is created.
	old := today.AddDate(0, 0, -10).Add(time.Hour)
	query(t, dsn, `INSERT INTO request_records (time, request_id, status) VALUES
		($1, 'stray-1', 1), ($2, 'stray-2', 1)`, old, old.AddDate(0, 0, -1))
	if got := query(t, dsn, "SELECT count(*) FROM request_records_default"); got[0] != "2" {
		t.Fatalf("default partition holds %s rows, want 2", got[0])
	}
	if err := s.EnsurePartitions(ctx, old, old); err != nil {
		t.Fatalf("EnsurePartitions: %v", err)
	}
	if got := query(t, dsn, "SELECT count(*) FROM "+partitionOf(old)); got[0] != "1" {
		t.Errorf("partition %s holds %s rows, want the moved one", partitionOf(old), got[0])
	}
	if got := query(t, dsn, "SELECT count(*) FROM request_records_default"); got[0] != "1" {
		t.Errorf("default partition holds %s rows, want 1", got[0])
	}

	// Inserting records of other days creates their partitions.
	var rs []store.Record
	for i := range 5 {
		rs = append(rs, store.Record{
			RequestID: fmt.Sprintf("r%d", i), Time: today.AddDate(0, 0, -i).Add(time.Minute), Status: store.StatusOK,
		})
	}
	if err := s.InsertRecords(ctx, batchOf(rs)); err != nil {
		t.Fatalf("InsertRecords: %v", err)
	}
	parts = partitions(t, dsn)
	for _, r := range rs {
		if !parts[partitionOf(r.Time)] {
			t.Errorf("no partition %s for record %s", partitionOf(r.Time), r.RequestID)
		}
	}
	if got := query(t, dsn, "SELECT count(*) FROM request_records_default"); got[0] != "1" {
		t.Errorf("default partition holds %s rows, want 1 (inserts must go to day partitions)", got[0])
	}
	// Concurrent calls for the same days do not fail.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			if err := open(t, dsn).EnsurePartitions(ctx, today.AddDate(0, 0, -20), today.AddDate(0, 0, -15)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent EnsurePartitions: %v", err)
	}

	// Retention: everything before two days ago goes, the rest stays.
	cutoff := today.AddDate(0, 0, -2)
	n, err := s.DropPartitionsBefore(ctx, cutoff.Add(time.Hour))
	if err != nil {
		t.Fatalf("DropPartitionsBefore: %v", err)
	}
	// Days -20..-15, -10, -4 and -3.
	if n != 9 {
		t.Errorf("DropPartitionsBefore dropped %d partitions, want 9", n)
	}
	got, _, err := s.ListRecords(ctx, store.RecordFilter{Limit: 100})
	if err != nil {
		t.Fatalf("ListRecords: %v", err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, r.RequestID)
	}
	if want := []string{"r0", "r1", "r2"}; fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("records after retention = %v, want %v", ids, want)
	}
	parts = partitions(t, dsn)
	if !parts[partitionOf(cutoff)] || parts[partitionOf(cutoff.AddDate(0, 0, -1))] {
		t.Errorf("partitions after retention: %v", parts)
	}
	// The store forgot the dropped days: records of them get partitions again.
	late := store.Record{RequestID: "late", Time: today.AddDate(0, 0, -3), Status: store.StatusOK}
	if err := s.InsertRecords(ctx, batchOf([]store.Record{late})); err != nil {
		t.Fatalf("InsertRecords(late): %v", err)
	}
	if !partitions(t, dsn)[partitionOf(late.Time)] {
		t.Errorf("no partition recreated for %s", partitionOf(late.Time))
	}
}

func TestCanceledContext(t *testing.T) {
	t.Parallel()
	s := open(t, pgtest.NewMigratedDatabase(t))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.GetProvider(ctx, "p"); !errors.Is(err, context.Canceled) || errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetProvider(canceled) = %v, want context.Canceled", err)
	}
}

// TestInsertRejectedBatch checks that a batch Postgres rejects for its
// data wraps store.ErrInvalidRecord and leaves nothing behind: no record,
// no ledger row, no rollup; and that dead letters of no segment are all
// kept.
func TestInsertRejectedBatch(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewMigratedDatabase(t)
	s := open(t, dsn)
	ctx := t.Context()
	query(t, dsn, "ALTER TABLE request_records ADD CONSTRAINT test_poison CHECK (end_user <> 'poison')")
	now := time.Now().UTC()
	b := batchOf([]store.Record{
		{RequestID: "ok", Time: now, Status: store.StatusOK, CostNanos: 5},
		{RequestID: "bad", Time: now, EndUser: "poison", Status: store.StatusOK, CostNanos: 7},
	})
	err := s.InsertRecords(ctx, b)
	if !errors.Is(err, store.ErrInvalidRecord) {
		t.Fatalf("InsertRecords = %v, want ErrInvalidRecord", err)
	}
	for _, table := range []string{"request_records", "record_batches", "usage_minute", "usage_dirty_hours"} {
		if got := query(t, dsn, "SELECT count(*) FROM "+table); got[0] != "0" {
			t.Errorf("%s holds %s rows after a rejected batch, want none", table, got[0])
		}
	}
	// The good half goes in; the bad record becomes a dead letter.
	ok := b
	ok.Records = b.Records[:1]
	if err := s.InsertRecords(ctx, ok); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		for _, seg := range []store.SegmentID{b.Segment, {}} {
			if err := s.InsertDeadLetter(ctx, store.DeadLetter{Segment: seg, Line: 1, Record: b.Records[1], Error: err.Error(), Code: "23514"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := query(t, dsn, "SELECT count(*) FROM request_records_dead"); got[0] != "3" {
		t.Errorf("%s dead letters, want 3: one for the line of the segment, and each of no segment", got[0])
	}
	if err := s.InsertRecords(ctx, b); err != nil {
		t.Errorf("the whole batch again, its lines stored or dead: %v", err)
	}
	if got := query(t, dsn, "SELECT count(*) || '/' || sum(cost_nanos) FROM request_records"); got[0] != "1/5" {
		t.Errorf("records count/cost = %s, want 1/5", got[0])
	}
}
