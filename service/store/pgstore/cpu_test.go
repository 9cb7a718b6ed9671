package pgstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/accounting"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
)

// TestPostgresCPUPerRecord measures what the record path costs Postgres:
// the accounting writer (default batching) stores records at a steady
// TOLLGATE_PG_CPU_RATE records/s (2,000) into a store that already holds
// TOLLGATE_PG_CPU_PREFILL records (1,000,000), and the test reports, for
// TOLLGATE_PG_CPU_WINDOWS windows (3) of TOLLGATE_PG_CPU_SECONDS (20), the
// CPU of every Postgres process (from /proc, exited backends and
// autovacuum included) per record written, the rows/s, and the bytes per
// row on disk. It reports, never asserts: opt in with
// TOLLGATE_LOAD_TEST=1 and run it alone (it measures the whole cluster).
func TestPostgresCPUPerRecord(t *testing.T) {
	if os.Getenv("TOLLGATE_LOAD_TEST") != "1" {
		t.Skip("set TOLLGATE_LOAD_TEST=1 to measure Postgres CPU per record")
	}
	rate := envInt("TOLLGATE_PG_CPU_RATE", 2000)
	seconds := envInt("TOLLGATE_PG_CPU_SECONDS", 20)
	windows := envInt("TOLLGATE_PG_CPU_WINDOWS", 3)
	prefill := envInt("TOLLGATE_PG_CPU_PREFILL", 1_000_000)
	ctx := t.Context()
	dsn := pgtest.NewMigratedDatabase(t)
	s := open(t, dsn)
	now := time.Now().UTC()
	if err := s.EnsurePartitions(ctx, now.Add(-2*time.Hour), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Prefill through the writer's own path, as fast as it goes.
	gen := newRecordGen(now.Add(-time.Hour))
	filled := time.Now()
	for n := 0; n < prefill; {
		b := gen.batch(min(5000, prefill-n), time.Hour)
		if err := insertBatch(ctx, s, b); err != nil {
			t.Fatalf("prefill: %v", err)
		}
		n += len(b)
	}
	if prefill > 0 {
		t.Logf("prefilled %d records in %v", prefill, time.Since(filled).Round(time.Millisecond))
	}
	query(t, dsn, "CHECKPOINT")
	query(t, dsn, "VACUUM ANALYZE")
	pm := postmasterPID(t, dsn)

	wr := accounting.New(s, writerOptions(t)...)
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- wr.Run(wctx) }()
	written := func() int64 { return wr.Stats().Written }

	// A steady producer: every 10 ms, rate/100 records stamped now.
	gen.base = time.Now().UTC()
	produce := func(d time.Duration) int {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		per := rate / 100
		end := time.Now().Add(d)
		n := 0
		for time.Now().Before(end) {
			<-tick.C
			for range per {
				wr.Record(gen.next(time.Now().UTC()))
				n++
			}
		}
		return n
	}
	produce(3 * time.Second) // warm up
	// Several windows: autovacuum and checkpoints come and go.
	var perRecord []float64
	for w := range windows {
		c0, wall0 := pgCPU(t, pm), time.Now()
		written0 := written()
		n := produce(time.Duration(seconds) * time.Second)
		// Let the last batches land before reading the CPU again.
		_ = testutil.Poll(t.Context(), 10*time.Second, func() error {
			if w := written(); w < written0+int64(n) {
				return fmt.Errorf("%d of %d written", w-written0, n)
			}
			return nil
		})
		c1, wall1 := pgCPU(t, pm), time.Now()
		stored := written() - written0
		cpu := c1 - c0
		us := float64(cpu.Microseconds()) / float64(stored)
		perRecord = append(perRecord, us)
		t.Logf("window %d: %d records offered, %d written over %v (%.0f rows/s); Postgres CPU %v, %.1f µs per record, %.1f%% of one core",
			w+1, n, stored, wall1.Sub(wall0).Round(time.Millisecond), float64(stored)/wall1.Sub(wall0).Seconds(), cpu, us,
			100*cpu.Seconds()/wall1.Sub(wall0).Seconds())
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	slices.Sort(perRecord)
	t.Logf("Postgres CPU per record, median of %d windows: %.1f µs (min %.1f, max %.1f)", windows, perRecord[windows/2], perRecord[0], perRecord[windows-1])
	var bytes, rows int64
	for _, r := range query(t, dsn, `SELECT pg_total_relation_size(c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'request_records'::regclass`) {
		v, _ := strconv.ParseInt(r, 10, 64)
		bytes += v
	}
	rows, _ = strconv.ParseInt(query(t, dsn, "SELECT count(*) FROM request_records")[0], 10, 64)
	t.Logf("request_records: %d rows, %d MB with indexes, %.0f bytes/row", rows, bytes>>20, float64(bytes)/float64(rows))
	for _, line := range query(t, dsn, `SELECT c.relname || ' ' || pg_size_pretty(sum(pg_relation_size(c.oid))) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r','i','p','I')
		AND (c.relname LIKE 'request_records%' OR c.relname LIKE 'usage_%' OR c.relname LIKE 'record_%')
		GROUP BY c.relname HAVING sum(pg_relation_size(c.oid)) > 1<<20 ORDER BY sum(pg_relation_size(c.oid)) DESC`) {
		t.Logf("  %s", line)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// postmasterPID returns the PID of the server's postmaster: the parent of
// a backend.
func postmasterPID(t *testing.T, dsn string) int {
	t.Helper()
	backend, err := strconv.Atoi(query(t, dsn, "SELECT pg_backend_pid()")[0])
	if err != nil {
		t.Fatal(err)
	}
	f := procStat(t, backend)
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatal(err)
	}
	return ppid
}

// procStat returns the fields of /proc/PID/stat after the command name,
// so that f[0] is the state (field 3 of proc(5)).
func procStat(t *testing.T, pid int) []string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

// pgCPU returns the CPU time of the postmaster and all its processes,
// including the children it already reaped (cutime, cstime).
func pgCPU(t *testing.T, pm int) time.Duration {
	t.Helper()
	ticks := func(f []string, n int) int64 {
		var sum int64
		for i := 11; i < 11+n && i < len(f); i++ { // utime stime [cutime cstime]
			v, _ := strconv.ParseInt(f[i], 10, 64)
			sum += v
		}
		return sum
	}
	total := ticks(procStat(t, pm), 4)
	children, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range children {
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err != nil || pid == pm {
			continue
		}
		f := procStat(t, pid)
		if len(f) > 13 && f[1] == strconv.Itoa(pm) {
			total += ticks(f, 2)
		}
	}
	return time.Duration(total) * time.Second / time.Duration(clockTicks())
}

// clockTicks is sysconf(_SC_CLK_TCK): 100 on Linux.
func clockTicks() int64 { return 100 }

// recordGen makes realistic records: 50 keys of 7 teams and 3 services, 3
// models, one record in ten with one of 1,000 end users, one or two tags.
type recordGen struct {
	base time.Time
	n    int
}

func newRecordGen(base time.Time) *recordGen { return &recordGen{base: base} }

func (g *recordGen) next(at time.Time) store.Record {
	i := g.n
	g.n++
	models := [...]string{"gpt-4o-mini", "claude-sonnet-4", "gemini-2.5-flash"}
	r := store.Record{
		RequestID: fmt.Sprintf("req_%024x", uint64(i)*0x9e3779b97f4a7c15), Time: at,
		KeyID: fmt.Sprintf("key-%02d", i%50), TeamID: fmt.Sprintf("team-%d", i%50%7), ServiceID: fmt.Sprintf("svc-%d", i%50%3),
		Tags: []string{"env=prod"}, Surface: "openai", Operation: "chat",
		RequestedModel: models[i%3], Provider: "openai", Model: models[i%3] + "-2025",
		Status: store.StatusOK, InputTokens: 1200, OutputTokens: 300, CachedInputTokens: 512,
		CostNanos: 6_000_000, Latency: 800 * time.Millisecond, TTFT: 200 * time.Millisecond, Attempts: 1,
	}
	if i%10 == 0 {
		r.EndUser = fmt.Sprintf("user-%d", i%1000)
		r.Tags = append(r.Tags, "batch")
	}
	return r
}

// batch returns n records spread over the span before g.base.
func (g *recordGen) batch(n int, span time.Duration) []store.Record {
	out := make([]store.Record, n)
	for i := range out {
		out[i] = g.next(g.base.Add(time.Duration(g.n%int(span/time.Millisecond)) * time.Millisecond))
	}
	return out
}

func insertBatch(ctx context.Context, s *pgstore.Store, b []store.Record) error {
	return s.InsertRecords(ctx, batchOf(b))
}

func writerOptions(*testing.T) []accounting.Option { return nil }
