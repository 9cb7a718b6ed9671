package accounting_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/accounting"
	"github.com/tollgate-dev/tollgate/service/store"
)

var _ accounting.Sink = (*fakeSink)(nil)

var errDown = errors.New("database is down")

// sinkMode is how fakeSink answers.
type sinkMode int

const (
	healthy sinkMode = iota
	// failBeforeCommit fails without storing anything.
	failBeforeCommit
	// failAfterCommit stores the records, then reports an error, like a
	// connection lost before the commit was acknowledged.
	failAfterCommit
	// hang blocks until the call's context is done.
	hang
)

// fakeSink stores records in memory and, like store.Records, skips the
// lines of a segment it already holds (or, for Dedupe batches, records
// whose RequestID it holds), rejects batches holding a poisoned record
// with store.ErrInvalidRecord, and keeps dead letters.
type fakeSink struct {
	mu        sync.Mutex
	mode      sinkMode
	poison    func(*store.Record) bool
	recs      map[string]store.Record
	lines     map[store.SegmentID]map[int]bool
	order     []string // RequestIDs in the order first stored
	dups      int      // records stored again under a RequestID already held
	batches   []int    // sizes of the successful calls
	failed    int      // failed calls
	rejected  int      // calls rejected for a poisoned record
	delivered int      // records in successful calls, skipped lines included
	dead      []store.DeadLetter
}

func newFakeSink(mode sinkMode) *fakeSink {
	return &fakeSink{mode: mode, recs: make(map[string]store.Record), lines: make(map[store.SegmentID]map[int]bool)}
}

func (s *fakeSink) InsertRecords(ctx context.Context, b store.RecordBatch) error {
	s.mu.Lock()
	if s.mode == hang {
		s.failed++
		s.mu.Unlock()
		<-ctx.Done()
		return ctx.Err()
	}
	defer s.mu.Unlock()
	if s.mode == failBeforeCommit {
		s.failed++
		return errDown
	}
	for i := range b.Records {
		if s.poison != nil && s.poison(&b.Records[i]) {
			s.rejected++
			return fmt.Errorf("%w: poisoned record %s", store.ErrInvalidRecord, b.Records[i].RequestID)
		}
	}
	for i, r := range b.Records {
		if !b.Segment.IsZero() && !s.claim(b.Segment, b.First+i) {
			continue
		}
		if _, dup := s.recs[r.RequestID]; dup {
			if !b.Dedupe {
				s.dups++
			}
			continue
		}
		s.recs[r.RequestID] = r
		s.order = append(s.order, r.RequestID)
	}
	if s.mode == failAfterCommit {
		s.failed++
		return errDown
	}
	s.batches = append(s.batches, len(b.Records))
	s.delivered += len(b.Records)
	return nil
}

// claim marks a line stored and reports whether it was not.
func (s *fakeSink) claim(seg store.SegmentID, line int) bool {
	m := s.lines[seg]
	if m == nil {
		m = make(map[int]bool)
		s.lines[seg] = m
	}
	if m[line] {
		return false
	}
	m[line] = true
	return true
}

func (s *fakeSink) InsertDeadLetter(_ context.Context, d store.DeadLetter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mode != healthy {
		s.failed++
		return errDown
	}
	if d.Segment.IsZero() || s.claim(d.Segment, d.Line) {
		s.dead = append(s.dead, d)
	}
	return nil
}

func (s *fakeSink) setPoison(f func(*store.Record) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.poison = f
}

func (s *fakeSink) deadLetters() []store.DeadLetter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.dead)
}

func (s *fakeSink) duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dups
}

func (s *fakeSink) setMode(m sinkMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

func (s *fakeSink) stored() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs)
}

func (s *fakeSink) get(id string) (store.Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[id]
	return r, ok
}

func (s *fakeSink) storedOrder() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.order)
}

func (s *fakeSink) batchSizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.batches)
}

// calls returns the numbers of successful and failed calls and of records
// delivered by the successful ones.
func (s *fakeSink) calls() (ok, failed, delivered int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.batches), s.failed, s.delivered
}

// rec returns the i-th test record; every field that is spilled is set.
func rec(i int) store.Record {
	return store.Record{
		RequestID:      id(i),
		Time:           time.Date(2026, 1, 2, 3, 4, 5, i, time.UTC),
		KeyID:          "key-1",
		TeamID:         "team-1",
		EndUser:        fmt.Sprintf("user-%d", i%7),
		Tags:           []string{"env:test", "n:" + fmt.Sprint(i)},
		Surface:        "openai",
		Operation:      "chat",
		Stream:         i%2 == 0,
		RequestedModel: "fast",
		Provider:       "openai",
		Model:          "gpt-x",
		Status:         store.StatusOK,
		InputTokens:    int64(i),
		OutputTokens:   int64(2 * i),
		CostNanos:      int64(1000 * i),
		Latency:        time.Duration(i) * time.Millisecond,
		Attempts:       1,
	}
}

func id(i int) string { return fmt.Sprintf("req-%05d", i) }

func recordRange(w *accounting.Writer, from, n int) {
	for i := from; i < from+n; i++ {
		w.Record(rec(i))
	}
}

// start runs w until the returned stop is called (or the test ends) and
// returns what Run returned.
func start(t *testing.T, w *accounting.Writer) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var (
		once sync.Once
		err  error
	)
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// waitFor polls cond, failing the test after an hour of (fake) time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Hour)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond) // simulated time: polls on the synctest bubble's fake clock
	}
}

// segments lists the log segments in dir.
func segments(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".jsonl") {
			names = append(names, filepath.Join(dir, e.Name()))
		}
	}
	return names
}

// checkStored fails unless the sink holds exactly records from..from+n-1,
// each equal to what was recorded.
func checkStored(t *testing.T, sink *fakeSink, from, n int) {
	t.Helper()
	if got := sink.stored(); got != n {
		t.Errorf("sink holds %d records, want %d", got, n)
	}
	for i := from; i < from+n; i++ {
		got, ok := sink.get(id(i))
		if !ok {
			t.Errorf("record %s missing", id(i))
			continue
		}
		if want := rec(i); !recordsEqual(got, want) {
			t.Errorf("record %s = %+v, want %+v", id(i), got, want)
		}
	}
}

func recordsEqual(a, b store.Record) bool {
	if !a.Time.Equal(b.Time) {
		return false
	}
	a.Time, b.Time = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}
