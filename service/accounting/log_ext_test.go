package accounting_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate-dev/tollgate/service/accounting"
	"github.com/tollgate-dev/tollgate/service/store"
)

func TestPoisonedRecordGoesToDeadLetters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		log  bool
	}{
		{name: "with a record log", log: true},
		{name: "in memory"},
	}
	const n, batchSize, bad = 100, 50, 37
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				sink := newFakeSink(healthy)
				sink.setPoison(func(r *store.Record) bool { return r.RequestID == id(bad) })
				opts := []accounting.Option{accounting.WithBatchSize(batchSize), accounting.WithFlushInterval(100 * time.Millisecond)}
				if tt.log {
					opts = append(opts, accounting.WithSpillDir(t.TempDir()))
				}
				w := accounting.New(sink, opts...)
				stop := start(t, w)
				recordRange(w, 0, n)
				waitFor(t, "the good records stored", func() bool { return sink.stored() == n-1 })
				if err := stop(); err != nil {
					t.Fatalf("Run() = %v", err)
				}
				dead := sink.deadLetters()
				if len(dead) != 1 || dead[0].Record.RequestID != id(bad) || !strings.Contains(dead[0].Error, "poisoned") {
					t.Fatalf("dead letters = %+v, want %s with its error", dead, id(bad))
				}
				if _, ok := sink.get(id(bad)); ok {
					t.Errorf("the poisoned record was stored")
				}
				// Splitting costs about two calls per halving.
				sink.mu.Lock()
				rejected := sink.rejected
				sink.mu.Unlock()
				if max := 2*bits.Len(batchSize) + 1; rejected > max {
					t.Errorf("%d rejected calls to isolate one record in %d, want at most %d", rejected, batchSize, max)
				}
				st := w.Stats()
				if st.DeadLettered != 1 || st.Written != n-1 || st.Dropped != 0 || sink.duplicates() != 0 {
					t.Errorf("Stats = %+v, duplicates %d; want 1 dead letter, %d written once", st, sink.duplicates(), n-1)
				}
			})
		})
	}
}

func TestRecordIsSanitised(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sink := newFakeSink(healthy)
		w := accounting.New(sink, accounting.WithSpillDir(t.TempDir()), accounting.WithFlushInterval(100*time.Millisecond))
		stop := start(t, w)
		w.Record(store.Record{RequestID: "nul", RequestedModel: "x\x00y", Status: store.StatusUnauthenticated})
		w.Record(rec(1))
		waitFor(t, "records stored", func() bool { return sink.stored() == 2 })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		got, _ := sink.get("nul")
		if got.RequestedModel != "x\uFFFDy" || !got.Truncated {
			t.Errorf("stored %q, truncated %v; want x\\uFFFDy, truncated", got.RequestedModel, got.Truncated)
		}
		if got, _ := sink.get(id(1)); got.Truncated {
			t.Errorf("a clean record was marked truncated")
		}
	})
}

// writeLegacySegment writes what the previous version's spill left: a
// segment-*.jsonl without a header, one record per line.
func writeLegacySegment(t *testing.T, dir string, seq int, lines ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, fmt.Sprintf("segment-%020d.jsonl", seq))
	if err := os.WriteFile(name, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOldPoisonedSegmentDoesNotRepoison(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		// The poison: a NUL in a record that the old version spilled
		// and replayed forever; and a record the store rejects for another
		// reason. Record old-1 was already stored before the crash.
		writeLegacySegment(t, dir, 1,
			`{"id":"old-1","time":"2026-01-02T03:04:05Z","team":"t","status":4}`,
			`{"id":"old-2","time":"2026-01-02T03:04:06Z","requested_model":"x\u0000y","status":4}`,
			`{"id":"old-3","time":"2026-01-02T03:04:07Z","team":"reject-me","status":1}`,
			`{"id":"old-4","time":"2026-01-02T03:04:08Z","status":1,"in":12}`,
		)
		sink := newFakeSink(healthy)
		sink.recs["old-1"] = store.Record{RequestID: "old-1"}
		sink.setPoison(func(r *store.Record) bool { return r.TeamID == "reject-me" })
		w := accounting.New(sink, accounting.WithSpillDir(dir), accounting.WithFlushInterval(100*time.Millisecond))
		stop := start(t, w)
		recordRange(w, 0, 10)
		legacy := filepath.Join(dir, fmt.Sprintf("segment-%020d.jsonl", 1))
		waitFor(t, "old and new records stored", func() bool {
			_, err := os.Stat(legacy)
			return sink.stored() == 3+10 && os.IsNotExist(err)
		})
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if got, _ := sink.get("old-2"); got.RequestedModel != "x\uFFFDy" || !got.Truncated {
			t.Errorf("old-2 stored as %+v, want sanitised", got)
		}
		if dead := sink.deadLetters(); len(dead) != 1 || dead[0].Record.RequestID != "old-3" {
			t.Errorf("dead letters = %+v, want old-3", dead)
		}
		if sink.duplicates() != 0 {
			t.Errorf("%d records stored twice, want none (old segments are deduplicated by request id)", sink.duplicates())
		}
		for i := range 10 {
			if got, ok := sink.get(id(i)); !ok || !recordsEqual(got, rec(i)) {
				t.Errorf("new record %s = %+v, %v; want it stored as recorded", id(i), got, ok)
			}
		}
	})
}

func TestCrashReplayIsIdempotent(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		sink := newFakeSink(healthy)
		first := accounting.New(sink,
			accounting.WithSpillDir(dir),
			accounting.WithBatchSize(10),
			accounting.WithFlushInterval(time.Hour),
			accounting.WithSegmentRecords(1000))
		start(t, first)
		recordRange(first, 0, 95)
		time.Sleep(accounting.DefaultSyncInterval) // fake time (synctest bubble): advances the clock, not synchronisation
		synctest.Wait()
		// 90 records are stored in full batches, 5 wait for the interval;
		// all are in the open segment, which is what a kill -9 leaves.
		if sink.stored() != 90 {
			t.Fatalf("stored %d records before the crash, want 90", sink.stored())
		}
		recordRange(first, 95, 3) // staged, not yet committed: the loss window
		crashed := copyDir(t, dir)

		second := accounting.New(sink, accounting.WithSpillDir(crashed))
		stop := start(t, second)
		waitFor(t, "log replayed", func() bool { return len(segments(t, crashed)) == 0 })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		checkStored(t, sink, 0, 95)
		if sink.duplicates() != 0 {
			t.Errorf("%d records stored twice, want none", sink.duplicates())
		}
		if st := second.Stats(); st.Replayed != 95 {
			t.Errorf("replayed %d lines, want all 95 (the store skips the 90 it holds)", st.Replayed)
		}
	})
}

func TestDurableRecordWaitsForTheGroupCommit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		durable bool
	}{
		{name: "durable: on disk when Record returns", durable: true},
		{name: "default: on disk within the sync interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				const interval = time.Second
				w := accounting.New(newFakeSink(failBeforeCommit),
					accounting.WithSpillDir(dir),
					accounting.WithSyncInterval(interval),
					accounting.WithDurable(tt.durable))
				start(t, w)
				synctest.Wait()
				w.Record(rec(1))
				onDisk := func() bool {
					for _, name := range segments(t, dir) {
						if data, err := os.ReadFile(name); err == nil && bytes.Contains(data, []byte(id(1))) {
							return true
						}
					}
					return false
				}
				if got := onDisk(); got != tt.durable {
					t.Errorf("record on disk when Record returned = %v, want %v", got, tt.durable)
				}
				time.Sleep(interval) // fake time (synctest bubble): advances the clock, not synchronisation
				synctest.Wait()
				if !onDisk() {
					t.Errorf("record not on disk after the sync interval")
				}
				if st := w.Stats(); st.Logged != 1 || st.DurableTimeouts != 0 {
					t.Errorf("Stats = %+v, want 1 logged", st)
				}
			})
		})
	}
}

func TestLogFullKeepsRecordsInMemory(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var logs lockedBuffer
		sink := newFakeSink(healthy)
		w := accounting.New(sink,
			accounting.WithSpillDir(t.TempDir()),
			accounting.WithMaxLogBytes(2000),
			accounting.WithFlushInterval(100*time.Millisecond),
			accounting.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		stop := start(t, w)
		for i := range 20 {
			w.Record(rec(i))
			time.Sleep(accounting.DefaultSyncInterval) // one group commit each
		}
		synctest.Wait()
		st := w.Stats()
		if !st.LogFull || st.LogFailures == 0 || st.LogBytes > 2000 || st.Logged == 0 || st.Logged == 20 {
			t.Errorf("Stats = %+v, want the log full at 2000 bytes after some records", st)
		}
		if logs.count("record log is full") != 1 {
			t.Errorf("logs:\n%s\nwant one error about the full log", logs.String())
		}
		waitFor(t, "all records stored", func() bool { return sink.stored() == 20 })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		checkStored(t, sink, 0, 20)
	})
}

func TestLogDirectoryIsLocked(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		first := accounting.New(newFakeSink(healthy), accounting.WithSpillDir(dir))
		stop := start(t, first)
		synctest.Wait()
		second := accounting.New(newFakeSink(healthy), accounting.WithSpillDir(dir))
		if err := second.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "another process") {
			t.Errorf("second Run() on the same directory = %v, want it refused", err)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		third := accounting.New(newFakeSink(healthy), accounting.WithSpillDir(dir))
		if err := start(t, third)(); err != nil {
			t.Errorf("Run() once the first stopped = %v", err)
		}
	})
}

func TestOutageWithLogKeepsOrderAndSkipsNothing(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		sink := newFakeSink(healthy)
		w := accounting.New(sink,
			accounting.WithSpillDir(dir),
			accounting.WithBatchSize(10),
			accounting.WithSegmentRecords(25),
			accounting.WithFlushInterval(50*time.Millisecond),
			accounting.WithSpillAfter(500*time.Millisecond),
			accounting.WithBackoff(50*time.Millisecond, 200*time.Millisecond))
		stop := start(t, w)
		// Healthy, then an outage long enough to fall behind, then healthy
		// again: records keep coming throughout.
		next := 0
		rate := func(d time.Duration) {
			for end := time.Now().Add(d); time.Now().Before(end); next++ {
				w.Record(rec(next))
				time.Sleep(7 * time.Millisecond) // fake time (synctest bubble): advances the clock, not synchronisation
			}
		}
		rate(time.Second)
		sink.setMode(failBeforeCommit)
		rate(2 * time.Second)
		sink.setMode(healthy)
		rate(2 * time.Second)
		waitFor(t, "everything stored", func() bool { return sink.stored() == next })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		checkStored(t, sink, 0, next)
		st := w.Stats()
		if sink.duplicates() != 0 || st.Spilled == 0 || st.Replayed < st.Spilled || st.Dropped != 0 {
			t.Errorf("Stats = %+v, duplicates %d; want some records replayed from the log, none lost or stored twice", st, sink.duplicates())
		}
		if segs := segments(t, dir); len(segs) != 0 {
			t.Errorf("segments left after a clean stop: %v", segs)
		}
		if order := sink.storedOrder(); !slices.IsSorted(order) {
			t.Logf("stored out of order (allowed): %v", order)
		}
	})
}
