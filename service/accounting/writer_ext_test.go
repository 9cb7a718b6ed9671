package accounting_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate-dev/tollgate/service/accounting"
)

func TestBatching(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		batchSize int
		interval  time.Duration
		records   int
		// wantNow are the batches written before any time passes,
		// wantAfterInterval those written once the interval has elapsed.
		wantNow           []int
		wantAfterInterval []int
	}{
		{
			name:              "full batches go at once, the rest after the interval",
			batchSize:         10,
			interval:          time.Hour,
			records:           35,
			wantNow:           []int{10, 10, 10},
			wantAfterInterval: []int{10, 10, 10, 5},
		},
		{
			name:              "a partial batch goes after the interval",
			batchSize:         1000,
			interval:          200 * time.Millisecond,
			records:           7,
			wantNow:           nil,
			wantAfterInterval: []int{7},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				sink := newFakeSink(healthy)
				w := accounting.New(sink,
					accounting.WithBatchSize(tt.batchSize),
					accounting.WithFlushInterval(tt.interval))
				recordRange(w, 0, tt.records)
				stop := start(t, w)

				synctest.Wait()
				if got := sink.batchSizes(); !slices.Equal(got, tt.wantNow) {
					t.Errorf("batches at once = %v, want %v", got, tt.wantNow)
				}
				time.Sleep(tt.interval - time.Nanosecond) // simulated time: advances the synctest bubble's fake clock
				synctest.Wait()
				if got := sink.batchSizes(); !slices.Equal(got, tt.wantNow) {
					t.Errorf("batches just before the interval = %v, want %v", got, tt.wantNow)
				}
				time.Sleep(time.Nanosecond) // simulated time: advances the synctest bubble's fake clock
				synctest.Wait()
				if got := sink.batchSizes(); !slices.Equal(got, tt.wantAfterInterval) {
					t.Errorf("batches after the interval = %v, want %v", got, tt.wantAfterInterval)
				}
				if err := stop(); err != nil {
					t.Fatalf("Run() = %v", err)
				}
				checkStored(t, sink, 0, tt.records)
			})
		})
	}
}

func TestOutageWithoutSpill(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mode sinkMode
		// exact is whether every record reaches the sink exactly once; when
		// an insert fails after committing, the retry repeats records, which
		// the sink skips.
		exact bool
	}{
		{name: "insert fails", mode: failBeforeCommit, exact: true},
		{name: "insert fails after committing", mode: failAfterCommit, exact: false},
		{name: "insert hangs until the batch timeout", mode: hang, exact: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				sink := newFakeSink(tt.mode)
				w := accounting.New(sink,
					accounting.WithBatchSize(10),
					accounting.WithFlushInterval(100*time.Millisecond),
					accounting.WithBatchTimeout(time.Second),
					accounting.WithBackoff(50*time.Millisecond, 2*time.Second))
				stop := start(t, w)

				recordRange(w, 0, 100)
				time.Sleep(5 * time.Second) // simulated time: advances the synctest bubble's fake clock
				recordRange(w, 100, 100)    // records keep arriving during the outage
				time.Sleep(5 * time.Second) // simulated time: advances the synctest bubble's fake clock
				synctest.Wait()
				st := w.Stats()
				if st.Failures == 0 || st.Written != 0 {
					t.Errorf("during the outage: Failures = %d, Written = %d; want > 0, 0", st.Failures, st.Written)
				}
				// Run keeps draining the queue while the sink fails.
				if st.Queued != 0 || st.Pending != 200 || !st.Behind {
					t.Errorf("during the outage: Queued = %d, Pending = %d, Behind = %v; want 0, 200, true", st.Queued, st.Pending, st.Behind)
				}

				sink.setMode(healthy)
				waitFor(t, "all records stored", func() bool { return sink.stored() == 200 })
				if err := stop(); err != nil {
					t.Fatalf("Run() = %v", err)
				}
				checkStored(t, sink, 0, 200)
				okCalls, failed, delivered := sink.calls()
				st = w.Stats()
				if tt.exact && (delivered != 200 || st.Written != 200) {
					t.Errorf("delivered %d records, Written = %d; want each record exactly once", delivered, st.Written)
				}
				if st.Written != int64(delivered) || st.Batches != int64(okCalls) || st.Failures != int64(failed) {
					t.Errorf("Stats = %+v; sink saw %d ok calls with %d records, %d failed calls", st, okCalls, delivered, failed)
				}
				if st.Recorded != 200 || st.Dropped != 0 || st.Spilled != 0 || st.Pending != 0 || st.Behind {
					t.Errorf("Stats = %+v, want 200 recorded, none dropped, spilled or pending, not behind", st)
				}
			})
		})
	}
}

func TestOutageWithoutSpillDropsOldestBeyondMemoryBound(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sink := newFakeSink(failBeforeCommit)
		w := accounting.New(sink,
			accounting.WithBatchSize(10),
			accounting.WithMaxPending(50),
			accounting.WithFlushInterval(100*time.Millisecond))
		recordRange(w, 0, 80)
		stop := start(t, w)
		time.Sleep(time.Second) // simulated time: advances the synctest bubble's fake clock
		synctest.Wait()
		if st := w.Stats(); st.Pending > 50 || st.Dropped != 30 {
			t.Errorf("Pending = %d, Dropped = %d; want <= 50, 30", st.Pending, st.Dropped)
		}
		sink.setMode(healthy)
		waitFor(t, "the kept records", func() bool { return sink.stored() == 50 })
		if err := stop(); err != nil {
			t.Fatalf("Run() = %v", err)
		}
		if got, want := sink.storedOrder(), ids(30, 50); !slices.Equal(got, want) {
			t.Errorf("stored %v, want %v", got, want)
		}
	})
}

func TestSpill(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []accounting.Option
		// maxPending is how many records may still be in memory.
		maxPending int
	}{
		{
			name:       "outage outlasts the spill threshold",
			opts:       []accounting.Option{accounting.WithSpillAfter(time.Second)},
			maxPending: 0,
		},
		{
			name:       "memory bound reached",
			opts:       []accounting.Option{accounting.WithSpillAfter(time.Hour), accounting.WithMaxPending(20)},
			maxPending: 20,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				sink := newFakeSink(failBeforeCommit)
				opts := append([]accounting.Option{
					accounting.WithSpillDir(dir),
					accounting.WithBatchSize(10),
					accounting.WithSegmentRecords(30),
					accounting.WithFlushInterval(100 * time.Millisecond),
					accounting.WithBackoff(50*time.Millisecond, 500*time.Millisecond),
				}, tt.opts...)
				w := accounting.New(sink, opts...)
				stop := start(t, w)

				recordRange(w, 0, 95)
				time.Sleep(3 * time.Second) // simulated time: advances the synctest bubble's fake clock
				recordRange(w, 95, 50)
				time.Sleep(3 * time.Second) // simulated time: advances the synctest bubble's fake clock
				synctest.Wait()
				st := w.Stats()
				if st.Pending > tt.maxPending || st.Spilled+int64(st.Pending) != 145 || st.Queued != 0 {
					t.Errorf("during the outage: Stats = %+v, want at most %d of 145 in memory, the rest spilled", st, tt.maxPending)
				}
				if len(segments(t, dir)) < 2 {
					t.Errorf("spill directory holds %v, want several segments", segments(t, dir))
				}

				sink.setMode(healthy)
				waitFor(t, "all records stored and segments deleted", func() bool {
					return sink.stored() == 145 && len(segments(t, dir)) == 0
				})
				if err := stop(); err != nil {
					t.Fatalf("Run() = %v", err)
				}
				checkStored(t, sink, 0, 145)
				if got := sink.storedOrder(); !slices.IsSorted(got) {
					t.Errorf("records stored out of order: %v", got)
				}
				st = w.Stats()
				if st.Written != 145 || st.Replayed != st.Spilled || st.Spilled == 0 || st.Dropped != 0 || st.Corrupt != 0 {
					t.Errorf("Stats = %+v, want 145 written once, all spilled replayed, none dropped", st)
				}
				if got := segments(t, dir); len(got) != 0 {
					t.Errorf("segments left: %v", got)
				}
			})
		})
	}
}

func TestReplayAtStart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// leave runs a first Writer on a failing sink and returns the
		// spill directory it leaves, holding records from..from+n-1.
		leave func(t *testing.T) (dir string, from, n int)
	}{
		{
			name: "previous process shut down while the sink failed",
			leave: func(t *testing.T) (string, int, int) {
				dir := t.TempDir()
				w := accounting.New(newFakeSink(failBeforeCommit), accounting.WithSpillDir(dir))
				stop := start(t, w)
				recordRange(w, 0, 95)
				if err := stop(); err != nil {
					t.Fatalf("first Run() = %v", err)
				}
				if st := w.Stats(); st.Spilled != 95 {
					t.Fatalf("first writer spilled %d records, want 95", st.Spilled)
				}
				return dir, 0, 95
			},
		},
		{
			name: "previous process crashed during an outage",
			leave: func(t *testing.T) (string, int, int) {
				dir := t.TempDir()
				w := accounting.New(newFakeSink(failBeforeCommit),
					accounting.WithSpillDir(dir),
					accounting.WithBatchSize(10),
					accounting.WithSegmentRecords(40),
					accounting.WithSpillAfter(time.Second))
				start(t, w)
				recordRange(w, 0, 95)
				time.Sleep(3 * time.Second) // simulated time: advances the synctest bubble's fake clock
				synctest.Wait()
				// What a crash now leaves on disk: sealed segments and the
				// open one, unsynced.
				crashed := copyDir(t, dir)
				if st := w.Stats(); st.Spilled != 95 || st.Pending != 0 {
					t.Fatalf("first writer: Stats = %+v, want all 95 spilled", st)
				}
				return crashed, 0, 95
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				dir, from, n := tt.leave(t)
				sink := newFakeSink(healthy)
				w := accounting.New(sink, accounting.WithSpillDir(dir))
				stop := start(t, w)
				waitFor(t, "segments replayed", func() bool { return len(segments(t, dir)) == 0 })
				if err := stop(); err != nil {
					t.Fatalf("Run() = %v", err)
				}
				if got, want := sink.storedOrder(), ids(from, n); !slices.Equal(got, want) {
					t.Errorf("replayed %v, want %v", got, want)
				}
				checkStored(t, sink, from, n)
				st := w.Stats()
				if n := int64(n); st.Replayed != n || st.Written != n || st.Recorded != 0 || st.Corrupt != 0 {
					t.Errorf("Stats = %+v, want %d replayed and written", st, n)
				}
			})
		})
	}
}

func TestReplaySkipsCorruptLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		corrupt func(data []byte) []byte
		want    []string
	}{
		{
			name:    "last line torn by a crash",
			corrupt: func(data []byte) []byte { return data[:len(data)-10] },
			want:    ids(0, 19),
		},
		{
			name: "partial line appended by a crash",
			corrupt: func(data []byte) []byte {
				return append(data, `{"id":"req-99999","time":"2026-01-02T0`...)
			},
			want: ids(0, 20),
		},
		{
			name: "garbage line in the middle",
			corrupt: func(data []byte) []byte {
				i := slices.Index(data, '\n') + 1
				return slices.Concat(data[:i], []byte("\x00\x00garbage\n"), data[i:])
			},
			want: ids(0, 20),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				first := accounting.New(newFakeSink(failBeforeCommit), accounting.WithSpillDir(dir))
				stop := start(t, first)
				recordRange(first, 0, 20)
				if err := stop(); err != nil {
					t.Fatalf("first Run() = %v", err)
				}
				segs := segments(t, dir)
				if len(segs) != 1 {
					t.Fatalf("segments = %v, want one", segs)
				}
				data, err := os.ReadFile(segs[0])
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(segs[0], tt.corrupt(data), 0o600); err != nil {
					t.Fatal(err)
				}

				sink := newFakeSink(healthy)
				w := accounting.New(sink, accounting.WithSpillDir(dir))
				stop = start(t, w)
				waitFor(t, "segment replayed", func() bool { return len(segments(t, dir)) == 0 })
				if err := stop(); err != nil {
					t.Fatalf("Run() = %v", err)
				}
				if got := sink.storedOrder(); !slices.Equal(got, tt.want) {
					t.Errorf("replayed %v, want %v", got, tt.want)
				}
				if st := w.Stats(); st.Corrupt != 1 || st.Replayed != int64(len(tt.want)) {
					t.Errorf("Stats = %+v, want 1 corrupt line, %d replayed", st, len(tt.want))
				}
			})
		})
	}
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		mode        sinkMode
		spill       bool
		wantErr     error
		wantStored  int
		wantSpilled int64
		wantDropped int64
	}{
		{name: "flushes to a healthy sink", mode: healthy, wantStored: 123},
		{name: "spills when the sink fails", mode: failBeforeCommit, spill: true, wantSpilled: 123},
		{name: "spills when the sink hangs", mode: hang, spill: true, wantSpilled: 123},
		{name: "loses records without a spill directory", mode: failBeforeCommit, wantErr: accounting.ErrRecordsLost, wantDropped: 123},
		{name: "gives up on a hanging sink at the deadline", mode: hang, wantErr: accounting.ErrRecordsLost, wantDropped: 123},
	}
	const shutdownTimeout = 2 * time.Second
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				sink := newFakeSink(tt.mode)
				opts := []accounting.Option{
					accounting.WithBatchSize(1000),
					accounting.WithFlushInterval(time.Hour),
					accounting.WithShutdownTimeout(shutdownTimeout),
				}
				if tt.spill {
					opts = append(opts, accounting.WithSpillDir(dir))
				}
				w := accounting.New(sink, opts...)
				stop := start(t, w)
				recordRange(w, 0, 123)
				synctest.Wait()

				begin := time.Now()
				err := stop()
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
					t.Errorf("Run() = %v, want %v", err, tt.wantErr)
				}
				if elapsed := time.Since(begin); elapsed > shutdownTimeout {
					t.Errorf("shutdown took %v, want at most %v", elapsed, shutdownTimeout)
				}
				st := w.Stats()
				if sink.stored() != tt.wantStored || st.Spilled != tt.wantSpilled || st.Dropped != tt.wantDropped {
					t.Errorf("stored %d, Stats = %+v; want %d stored, %d spilled, %d dropped",
						sink.stored(), st, tt.wantStored, tt.wantSpilled, tt.wantDropped)
				}
				if st.Pending != 0 || st.Queued != 0 {
					t.Errorf("after shutdown: Stats = %+v, want nothing pending or queued", st)
				}
				if tt.spill {
					if segs := segments(t, dir); len(segs) != 1 {
						t.Errorf("segments = %v, want one", segs)
					}
				}
			})
		})
	}
}

func TestRecordAfterShutdown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		spill       bool
		close       bool
		wantSpilled int64
		wantDropped int64
	}{
		{name: "goes to the spill directory", spill: true, wantSpilled: 1},
		{name: "is dropped without a spill directory", wantDropped: 1},
		{name: "is dropped after Close", spill: true, close: true, wantDropped: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				opts := []accounting.Option{}
				if tt.spill {
					opts = append(opts, accounting.WithSpillDir(dir))
				}
				w := accounting.New(newFakeSink(healthy), opts...)
				if err := start(t, w)(); err != nil {
					t.Fatalf("Run() = %v", err)
				}
				if tt.close {
					if err := w.Close(); err != nil {
						t.Fatalf("Close() = %v", err)
					}
				}
				w.Record(rec(1))
				if err := w.Close(); err != nil {
					t.Fatalf("Close() = %v", err)
				}
				if st := w.Stats(); st.Recorded != 1 || st.Spilled != tt.wantSpilled || st.Dropped != tt.wantDropped {
					t.Errorf("Stats = %+v, want 1 recorded, %d spilled, %d dropped", st, tt.wantSpilled, tt.wantDropped)
				}
				if !tt.spill {
					return
				}
				sink := newFakeSink(healthy)
				next := accounting.New(sink, accounting.WithSpillDir(dir))
				stop := start(t, next)
				time.Sleep(time.Second) // simulated time: advances the synctest bubble's fake clock
				if err := stop(); err != nil {
					t.Fatalf("next Run() = %v", err)
				}
				if got := int64(sink.stored()); got != tt.wantSpilled {
					t.Errorf("next writer replayed %d records, want %d", got, tt.wantSpilled)
				}
			})
		})
	}
}

func TestQueueFull(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		spill       bool
		wantSpilled int64
		wantDropped int64
		wantStored  int
	}{
		{name: "overflow goes to the spill directory", spill: true, wantSpilled: 15, wantStored: 25},
		{name: "overflow is dropped without one", wantDropped: 15, wantStored: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				opts := []accounting.Option{
					accounting.WithQueueCapacity(10),
					accounting.WithFlushInterval(100 * time.Millisecond),
				}
				if tt.spill {
					opts = append(opts, accounting.WithSpillDir(t.TempDir()))
				}
				sink := newFakeSink(healthy)
				w := accounting.New(sink, opts...)
				recordRange(w, 0, 25) // Run is not draining the queue yet
				st := w.Stats()
				if st.Recorded != 25 || st.Queued != 10 || st.Spilled != tt.wantSpilled || st.Dropped != tt.wantDropped {
					t.Errorf("Stats = %+v, want 25 recorded, 10 queued, %d spilled, %d dropped", st, tt.wantSpilled, tt.wantDropped)
				}
				stop := start(t, w)
				waitFor(t, "records stored", func() bool { return sink.stored() == tt.wantStored })
				if err := stop(); err != nil {
					t.Fatalf("Run() = %v", err)
				}
				if st := w.Stats(); st.Written != int64(tt.wantStored) || st.Replayed != tt.wantSpilled {
					t.Errorf("Stats = %+v, want %d written, %d replayed", st, tt.wantStored, tt.wantSpilled)
				}
			})
		})
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		w := accounting.New(newFakeSink(healthy))
		stop := start(t, w)
		synctest.Wait()
		if err := w.Run(t.Context()); !errors.Is(err, accounting.ErrStarted) {
			t.Errorf("second Run() = %v, want ErrStarted", err)
		}
		if err := w.Close(); !errors.Is(err, accounting.ErrRunning) {
			t.Errorf("Close() while running = %v, want ErrRunning", err)
		}
		if err := stop(); err != nil {
			t.Fatalf("Run() = %v", err)
		}
		for range 2 {
			if err := w.Close(); err != nil {
				t.Errorf("Close() = %v", err)
			}
		}
		if err := accounting.New(newFakeSink(healthy)).Close(); err != nil {
			t.Errorf("Close() of an unstarted writer = %v", err)
		}
		closed := accounting.New(newFakeSink(healthy))
		closed.Record(rec(1))
		if err := closed.Close(); !errors.Is(err, accounting.ErrRecordsLost) {
			t.Errorf("Close() with a queued record and no spill directory = %v, want ErrRecordsLost", err)
		}
		if err := closed.Run(t.Context()); !errors.Is(err, accounting.ErrStarted) {
			t.Errorf("Run() after Close() = %v, want ErrStarted", err)
		}
	})
}

func TestRunFailsOnUnusableSpillDir(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	w := accounting.New(newFakeSink(healthy), accounting.WithSpillDir(filepath.Join(file, "spill")))
	if err := w.Run(t.Context()); err == nil {
		t.Fatal("Run() with a spill directory under a file = nil, want an error")
	}
}

func TestConcurrentRecord(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		spill bool
	}{
		{name: "with spill directory", spill: true},
		{name: "in memory"},
	}
	const goroutines, each = 1000, 10
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				opts := []accounting.Option{
					accounting.WithBatchSize(50),
					accounting.WithFlushInterval(20 * time.Millisecond),
					accounting.WithBackoff(10*time.Millisecond, 100*time.Millisecond),
					accounting.WithSpillAfter(200 * time.Millisecond),
				}
				if tt.spill {
					opts = append(opts, accounting.WithSpillDir(t.TempDir()), accounting.WithMaxPending(500), accounting.WithSegmentRecords(1000))
				}
				sink := newFakeSink(failBeforeCommit)
				w := accounting.New(sink, opts...)
				stop := start(t, w)
				var wg sync.WaitGroup
				for g := range goroutines {
					wg.Go(func() {
						for i := range each {
							w.Record(rec(g*each + i))
							time.Sleep(time.Duration(g%10) * 10 * time.Millisecond) // simulated time: advances the synctest bubble's fake clock
						}
					})
				}
				wg.Go(func() {
					time.Sleep(300 * time.Millisecond) // simulated time: advances the synctest bubble's fake clock
					sink.setMode(healthy)
				})
				wg.Wait()
				waitFor(t, "all records stored", func() bool { return sink.stored() == goroutines*each })
				if err := stop(); err != nil {
					t.Fatalf("Run() = %v", err)
				}
				checkStored(t, sink, 0, goroutines*each)
				st := w.Stats()
				t.Logf("Stats = %+v", st)
				if st.Recorded != goroutines*each || st.Written != goroutines*each || st.Dropped != 0 {
					t.Errorf("Stats = %+v, want %d recorded and written once, none dropped", st, goroutines*each)
				}
				if tt.spill && (st.Spilled == 0 || st.Spilled == goroutines*each) {
					t.Errorf("Stats = %+v, want some records spilled during the outage, not all", st)
				}
			})
		})
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sink := newFakeSink(failBeforeCommit)
		w := accounting.New(sink, accounting.WithBatchSize(10), accounting.WithFlushInterval(100*time.Millisecond))
		recordRange(w, 0, 7)
		if got, want := w.Stats(), (accounting.Stats{Recorded: 7, Queued: 7}); got != want {
			t.Errorf("before Run: Stats = %+v, want %+v", got, want)
		}

		stop := start(t, w)
		time.Sleep(time.Second) // simulated time: advances the synctest bubble's fake clock
		synctest.Wait()
		_, failed, _ := sink.calls()
		if got, want := w.Stats(), (accounting.Stats{Recorded: 7, Failures: int64(failed), Pending: 7, Behind: true}); got != want || failed == 0 {
			t.Errorf("during the outage: Stats = %+v, want %+v with failures", got, want)
		}

		sink.setMode(healthy)
		waitFor(t, "records stored", func() bool { return sink.stored() == 7 })
		if err := stop(); err != nil {
			t.Fatalf("Run() = %v", err)
		}
		_, failed, _ = sink.calls()
		if got, want := w.Stats(), (accounting.Stats{Recorded: 7, Written: 7, Batches: 1, Failures: int64(failed)}); got != want {
			t.Errorf("after recovery: Stats = %+v, want %+v", got, want)
		}
	})
}

// ids returns the RequestIDs of records from..from+n-1.
func ids(from, n int) []string {
	out := make([]string, 0, n)
	for i := from; i < from+n; i++ {
		out = append(out, id(i))
	}
	return out
}

// copyDir copies the files of dir to a new temporary directory.
func copyDir(t *testing.T, dir string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestSpillFailureKeepsRecordsInMemory(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "spill")
		sink := newFakeSink(failBeforeCommit)
		w := accounting.New(sink,
			accounting.WithSpillDir(dir),
			accounting.WithBatchSize(10),
			accounting.WithFlushInterval(100*time.Millisecond),
			accounting.WithSpillAfter(time.Second))
		stop := start(t, w)
		synctest.Wait()
		// The disk goes away: a file now stands where the directory was.
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dir, nil, 0o600); err != nil {
			t.Fatal(err)
		}

		recordRange(w, 0, 50)
		time.Sleep(3 * time.Second) // simulated time: advances the synctest bubble's fake clock
		synctest.Wait()
		if st := w.Stats(); st.Spilled != 0 || st.Pending != 50 || st.Dropped != 0 {
			t.Errorf("during the outage: Stats = %+v, want all 50 kept in memory", st)
		}
		sink.setMode(healthy)
		waitFor(t, "records stored", func() bool { return sink.stored() == 50 })
		if err := stop(); err != nil {
			t.Fatalf("Run() = %v", err)
		}
		checkStored(t, sink, 0, 50)
	})
}

func TestDropLogIsRateLimited(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var logs lockedBuffer
		w := accounting.New(newFakeSink(healthy),
			accounting.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		recordRange(w, 0, 100)
		time.Sleep(999 * time.Millisecond) // simulated time: advances the synctest bubble's fake clock
		recordRange(w, 100, 100)
		if got := logs.count("dropping request records"); got != 1 {
			t.Errorf("within a second: %d log lines, want 1:\n%s", got, logs.String())
		}
		time.Sleep(time.Millisecond) // simulated time: advances the synctest bubble's fake clock
		recordRange(w, 200, 1)
		if got := logs.count("dropping request records"); got != 2 {
			t.Errorf("a second later: %d log lines, want 2:\n%s", got, logs.String())
		}
		if st := w.Stats(); st.Dropped != 201 {
			t.Errorf("Dropped = %d, want 201", st.Dropped)
		}
	})
}

// lockedBuffer is a log destination safe for concurrent use.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) count(s string) int {
	return strings.Count(b.String(), s)
}

func TestBatchFailingWhileNewerRecordsSpill(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		sink := newFakeSink(hang)
		w := accounting.New(sink,
			accounting.WithSpillDir(dir),
			accounting.WithBatchSize(10),
			accounting.WithMaxPending(20),
			accounting.WithBatchTimeout(time.Second),
			accounting.WithFlushInterval(time.Hour))
		stop := start(t, w)
		recordRange(w, 0, 10)
		time.Sleep(accounting.DefaultSyncInterval) // fake time (synctest bubble): advances the clock, not synchronisation
		synctest.Wait()                            // the first batch is in flight, hanging
		recordRange(w, 10, 30)
		time.Sleep(accounting.DefaultSyncInterval) // fake time (synctest bubble): advances the clock, not synchronisation
		synctest.Wait()                            // over the memory bound: the writer falls behind
		if st := w.Stats(); st.Spilled != 30 || st.Pending != 10 {
			t.Fatalf("while the first batch hangs: Stats = %+v, want 30 spilled, 10 in flight", st)
		}
		time.Sleep(time.Second - accounting.DefaultSyncInterval) // simulated time: advances the synctest bubble's fake clock
		synctest.Wait()                                          // the first batch timed out: it is replayed from the log too
		if st := w.Stats(); st.Spilled != 40 || st.Pending != 0 || st.Failures != 1 {
			t.Fatalf("after the timeout: Stats = %+v, want 40 spilled, 1 failure", st)
		}
		sink.setMode(healthy)
		waitFor(t, "all records stored", func() bool { return sink.stored() == 40 && len(segments(t, dir)) == 0 })
		if err := stop(); err != nil {
			t.Fatalf("Run() = %v", err)
		}
		checkStored(t, sink, 0, 40)
		if st := w.Stats(); st.Written != 40 || st.Replayed != 40 || st.Dropped != 0 {
			t.Errorf("Stats = %+v, want all 40 replayed once", st)
		}
	})
}
